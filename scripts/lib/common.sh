# shellcheck shell=bash
#
# Shared shell helpers: logging, fatal errors, and one cleanup stack that
# every script and system test uses.
#
# Why a stack: a test creates namespaces, veths, a run directory and daemons
# in that order, and they must go away in the reverse order (daemons before
# the devices they hold, devices before namespaces) on every exit path,
# including a failed assertion in the middle, Ctrl-C and SIGTERM from ctest's
# timeout.  Each creator registers its own undo with on_exit right after the
# creation succeeded, so the stack only ever holds things that exist.
#
# Source this file; it sets no shell options of its own.

[[ -n "${AFXDP_COMMON_SH:-}" ]] && return 0
AFXDP_COMMON_SH=1

AFXDP_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
AFXDP_BUILD_DIR=${AFXDP_BUILD_DIR:-$AFXDP_ROOT/build}
# A short tag unique among concurrent runs: names of every namespace, device
# and directory we create carry it, so parallel and stale runs never clash.
AFXDP_TAG=${AFXDP_TAG:-$$}

# The original stderr, kept so that messages and failure dumps stay visible
# even when a helper exits from inside a redirected command such as
# `wait_until ... >/dev/null`.
exec {AFXDP_ERR_FD}>&2

log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&"$AFXDP_ERR_FD"; }
die() { log "FATAL: $*"; exit 1; }

require_root() {
    [[ $(id -u) -eq 0 ]] ||
        die "${0##*/} needs root (netns, veth, XDP); run it with sudo"
}

require_cmd() {
    local c
    for c in "$@"; do
        command -v "$c" >/dev/null 2>&1 || die "required command '$c' not found"
    done
}

# ---- Cleanup stack -------------------------------------------------------

AFXDP_CLEANUP=()
# Hooks run first on a failed exit (status != 0), e.g. dumping logs, while
# everything they want to look at still exists.
AFXDP_ON_FAILURE=()

# on_exit CMD: run the shell command CMD at exit, most recent first.
on_exit() { AFXDP_CLEANUP+=("$1"); }
on_failure() { AFXDP_ON_FAILURE+=("$1"); }

run_cleanup() {
    local status=$1 i
    trap - EXIT INT TERM
    if [[ $status -ne 0 ]]; then
        for ((i = 0; i < ${#AFXDP_ON_FAILURE[@]}; i++)); do
            eval "${AFXDP_ON_FAILURE[i]}" >&"$AFXDP_ERR_FD" 2>&1 || true
        done
    fi
    for ((i = ${#AFXDP_CLEANUP[@]} - 1; i >= 0; i--)); do
        eval "${AFXDP_CLEANUP[i]}" >/dev/null 2>&1 || true
    done
    AFXDP_CLEANUP=()
}

# Installs the traps.  A signal turns into an ordinary failing exit so the
# EXIT trap does the work exactly once.
install_cleanup_trap() {
    trap 'run_cleanup $?' EXIT
    trap 'log "interrupted"; exit 130' INT
    trap 'log "terminated"; exit 143' TERM
}

# wait_until TIMEOUT_S CMD...: polls CMD every 0.1 s until it succeeds.
# AFXDP_TIME_SCALE (a whole number, default 1) multiplies every such wait,
# for machines that run everything several times slower than the ones the
# timeouts were chosen on (the kernel matrix's emulated guests): what a
# test waits for stays the same, only how long it is given.
wait_until() {
    local timeout=$1 deadline
    shift
    deadline=$((SECONDS + timeout * ${AFXDP_TIME_SCALE:-1}))
    until "$@" >/dev/null 2>&1; do
        ((SECONDS < deadline)) || return 1
        sleep 0.1
    done
}

# bpffs is not mounted by default on some systems; libbpf and libxdp want it
# for pinning.  It stays mounted afterwards: other users may have pinned
# objects into it in the meantime.
ensure_bpffs() {
    if ! mountpoint -q /sys/fs/bpf; then
        mkdir -p /sys/fs/bpf
        mount -t bpf bpf /sys/fs/bpf || die "cannot mount bpffs on /sys/fs/bpf"
    fi
}
