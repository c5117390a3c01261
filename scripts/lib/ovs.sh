# shellcheck shell=bash
#
# Start and stop a private ovsdb-server + ovs-vswitchd.
#
# Every instance lives in its own mktemp directory (run, db, log, etc.), so
# it never touches a system OVS, another test run, or files of a previous
# run.  The daemons detach and write pidfiles; we stop them by those PIDs
# only, never by name, and the cleanup stack does so on every exit path.
#
# Where: with OVS_NETNS set, ovs-vswitchd runs in that network namespace
# (see topo.sh for why); the clients reach it through unix sockets in the
# private directory, from any namespace.
#
# Which binaries: OVS_SBINDIR/OVS_BINDIR/OVS_SCHEMA default to our build,
# installed by scripts/build-ovs.sh into build/install (AFXDP_OVS_INSTALL).  The demo points them at Debian's packaged OVS for its
# --compare-upstream baseline; the system tests always use our build.

[[ -n "${AFXDP_OVS_SH:-}" ]] && return 0
AFXDP_OVS_SH=1
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

ovs_use_build() {
    local inst=${AFXDP_OVS_INSTALL:-$AFXDP_ROOT/build/install}
    OVS_SBINDIR=$inst/sbin
    OVS_BINDIR=$inst/bin
    OVS_SCHEMA=$inst/share/openvswitch/vswitch.ovsschema
    export OVS_PKGDATADIR=$inst/share/openvswitch
}

ovs_use_upstream() {
    OVS_SBINDIR=/usr/sbin
    OVS_BINDIR=/usr/bin
    OVS_SCHEMA=/usr/share/openvswitch/vswitch.ovsschema
    export OVS_PKGDATADIR=/usr/share/openvswitch
}

[[ -n "${OVS_SBINDIR:-}" ]] || ovs_use_build

# PMD threads on CPU 1, leaving CPU 0 to the main thread, the kernel and
# the traffic generators (the machines we target have 2 cores).
OVS_PMD_CPU_MASK=${OVS_PMD_CPU_MASK:-0x2}

OVSDB_PID=
VSWITCHD_PID=

vsctl() { "$OVS_BINDIR/ovs-vsctl" --timeout=30 "$@"; }
appctl() { "$OVS_BINDIR/ovs-appctl" --timeout=30 "$@"; }
ofctl() { "$OVS_BINDIR/ovs-ofctl" "$@"; }

ovs_check_binaries() {
    local f
    for f in "$OVS_SBINDIR/ovsdb-server" "$OVS_SBINDIR/ovs-vswitchd" \
        "$OVS_BINDIR/ovs-vsctl" "$OVS_BINDIR/ovs-appctl" \
        "$OVS_BINDIR/ovs-ofctl" "$OVS_BINDIR/ovsdb-tool"; do
        [[ -x $f ]] || die "missing $f (run scripts/build.sh first)"
    done
    [[ -r $OVS_SCHEMA ]] || die "missing $OVS_SCHEMA"
}

# pid_alive PID: true while PID exists and is not a zombie.
pid_alive() {
    [[ -n $1 && -d /proc/$1 ]] &&
        ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null
}

# stop_pid PID SIGNAL TIMEOUT: signals PID and waits for it to be gone;
# escalates to SIGKILL after TIMEOUT seconds.
stop_pid() {
    local pid=$1 sig=$2 timeout=${3:-10}
    pid_alive "$pid" || return 0
    kill "-$sig" "$pid" 2>/dev/null || true
    if ! wait_until "$timeout" eval "! pid_alive $pid"; then
        log "PID $pid ignored SIG$sig for ${timeout}s; killing it"
        kill -KILL "$pid" 2>/dev/null || true
        wait_until 5 eval "! pid_alive $pid"
    fi
}

read_pidfile() {
    local f=$1 pid
    wait_until 10 test -s "$f" || die "no pidfile $f"
    pid=$(<"$f")
    [[ $pid =~ ^[0-9]+$ ]] || die "bad pidfile $f"
    echo "$pid"
}

# ovs_start: creates the private directory, the database, and starts both
# daemons.  Exports OVS_RUNDIR & co so plain ovs-* tools find them.
ovs_start() {
    ovs_check_binaries
    ensure_bpffs
    OVS_WORKDIR=$(mktemp -d "/tmp/afxdp-ovs-$AFXDP_TAG.XXXXXX")
    on_exit "ovs_remove_workdir $OVS_WORKDIR"
    export OVS_RUNDIR=$OVS_WORKDIR/run OVS_DBDIR=$OVS_WORKDIR/db \
        OVS_LOGDIR=$OVS_WORKDIR/log OVS_SYSCONFDIR=$OVS_WORKDIR/etc
    mkdir -p "$OVS_RUNDIR" "$OVS_DBDIR" "$OVS_LOGDIR" "$OVS_SYSCONFDIR"
    OVS_VSWITCHD_LOG=$OVS_LOGDIR/ovs-vswitchd.log

    "$OVS_BINDIR/ovsdb-tool" create "$OVS_DBDIR/conf.db" "$OVS_SCHEMA" ||
        die "ovsdb-tool create failed"
    "$OVS_SBINDIR/ovsdb-server" "$OVS_DBDIR/conf.db" \
        --remote="punix:$OVS_RUNDIR/db.sock" \
        --pidfile="$OVS_RUNDIR/ovsdb-server.pid" --detach --no-chdir \
        -vconsole:err --log-file="$OVS_LOGDIR/ovsdb-server.log" ||
        die "ovsdb-server failed to start"
    OVSDB_PID=$(read_pidfile "$OVS_RUNDIR/ovsdb-server.pid")
    on_exit "stop_pid $OVSDB_PID TERM"
    on_failure "ovs_dump_log"

    vsctl --no-wait init
    vsctl --no-wait set Open_vSwitch . \
        "other_config:pmd-cpu-mask=$OVS_PMD_CPU_MASK"
    # Settings ovs-vswitchd reads only at start-up, such as hw-offload:
    # OVS_OTHER_CONFIG="key=value ...".
    local kv
    for kv in ${OVS_OTHER_CONFIG:-}; do
        vsctl --no-wait set Open_vSwitch . "other_config:$kv"
    done
    ovs_start_vswitchd
    on_exit "ovs_stop_vswitchd TERM"
}

ovs_start_vswitchd() {
    pid_alive "$VSWITCHD_PID" && die "ovs-vswitchd already running"
    rm -f "$OVS_RUNDIR/ovs-vswitchd.pid"
    # `ip netns exec` gives the process a fresh /sys of the namespace, and
    # so no bpffs; mount one there for libbpf's and libxdp's sake (it goes
    # away with the process's mount namespace).
    local netns=()
    [[ -z ${OVS_NETNS:-} ]] || netns=(ip netns exec "$OVS_NETNS" sh -c \
        'mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf; exec "$@"' \
        ovs-vswitchd)
    "${netns[@]}" "$OVS_SBINDIR/ovs-vswitchd" "unix:$OVS_RUNDIR/db.sock" \
        --pidfile="$OVS_RUNDIR/ovs-vswitchd.pid" --detach --no-chdir \
        -vconsole:err --log-file="$OVS_VSWITCHD_LOG" ||
        die "ovs-vswitchd failed to start"
    VSWITCHD_PID=$(read_pidfile "$OVS_RUNDIR/ovs-vswitchd.pid")
    log "ovs-vswitchd running as PID $VSWITCHD_PID ($OVS_SBINDIR)"
}

# ovs_stop_vswitchd [exit|TERM|KILL]: stops ovs-vswitchd the given way and
# waits until the process is gone.
ovs_stop_vswitchd() {
    local how=${1:-exit} pid=$VSWITCHD_PID
    pid_alive "$pid" || { VSWITCHD_PID=; return 0; }
    case $how in
    exit)
        appctl -t "$OVS_RUNDIR/ovs-vswitchd.$pid.ctl" exit ||
            log "ovs-appctl exit failed"
        wait_until 20 eval "! pid_alive $pid" ||
            die "ovs-vswitchd (PID $pid) did not exit after ovs-appctl exit"
        ;;
    TERM | KILL) stop_pid "$pid" "$how" 20 ;;
    *) die "ovs_stop_vswitchd: unknown way '$how'" ;;
    esac
    VSWITCHD_PID=
}

# Stops both daemons of the current instance now (the demo runs two
# instances one after the other).
ovs_stop() {
    ovs_stop_vswitchd TERM
    stop_pid "$OVSDB_PID" TERM
    OVSDB_PID=
}

ovs_remove_workdir() {
    if [[ -n "${KEEP:-}" ]]; then
        log "KEEP set: leaving $1"
    else
        rm -rf -- "$1"
    fi
}

ovs_dump_log() {
    [[ -r "${OVS_VSWITCHD_LOG:-}" ]] || return 0
    echo "======== $OVS_VSWITCHD_LOG ========" >&2
    cat "$OVS_VSWITCHD_LOG" >&2
    echo "======== end of ovs-vswitchd.log ========" >&2
}

# ovs_log_errors [ALLOW_ERE]: prints the ERR/EMER lines of ovs-vswitchd.log
# that do not match the extended regex ALLOW_ERE.
ovs_log_errors() {
    local allow=${1:-}
    grep -E '\|(ERR|EMER)\|' "$OVS_VSWITCHD_LOG" |
        { if [[ -n $allow ]]; then grep -Ev -- "$allow"; else cat; fi; } ||
        true
}

# ovs_check_log [ALLOW_ERE]: fails when the log has unexpected ERR/EMER.
ovs_check_log() {
    local bad
    bad=$(ovs_log_errors "${1:-}")
    if [[ -n $bad ]]; then
        printf '%s\n' "unexpected errors in ovs-vswitchd.log:" "$bad" >&2
        return 1
    fi
}

# ovs_add_bridge BRIDGE: a userspace (netdev) bridge.  Its internal port
# is a persistent tap device that outlives ovs-vswitchd unless the bridge is
# deleted, so cleanup deletes both the bridge and the device.
ovs_add_bridge() {
    vsctl add-br "$1" -- set bridge "$1" datapath_type=netdev
    on_exit "ovs_del_bridge $1"
}

ovs_del_bridge() {
    if pid_alive "$VSWITCHD_PID"; then
        "$OVS_BINDIR/ovs-vsctl" --timeout=5 --if-exists del-br "$1"
    fi
    ip ${OVS_NETNS:+-n "$OVS_NETNS"} link del "$1" 2>/dev/null || true
}

# ovs_add_afxdp_port BRIDGE IFNAME [OPTION=VALUE...]: adds IFNAME as an
# afxdp interface; extra arguments become options:OPTION=VALUE.
ovs_add_afxdp_port() {
    local br=$1 ifname=$2 opt args=()
    shift 2
    for opt in "$@"; do args+=("options:$opt"); done
    vsctl add-port "$br" "$ifname" -- \
        set interface "$ifname" type=afxdp "${args[@]}"
}
