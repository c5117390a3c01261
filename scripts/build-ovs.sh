#!/bin/bash
# Builds Open vSwitch from Debian's source tarball with ovs-afxdp's AF_XDP
# provider linked into ovs-vswitchd, and installs it under build/install.
#
#   scripts/build-ovs.sh            (after the CMake build of the core)
#
# Steps, each skipped when its inputs did not change:
#   1. extract the tarball into build/ovs-src and apply ovs-patches/series
#      (again whenever the tarball, the series or a patch changes);
#   2. link build/ovs-src/lib/ovs-afxdp -> dpif/ (the C glue), and rerun
#      automake (or autoreconf, if a patch touches configure inputs);
#   3. configure out of tree in build/ovs;
#   4. link build/ovs/afxdp-core -> the CMake build dir holding the core
#      libraries (where ovs-patches/0001 makes OVS's Makefile look for
#      them), then make and make install into build/install;
#   5. build the test tools linked with OVS (build/ovs/tests/afxdp-*).
# Edits to dpif/ and rebuilt core libraries only need step 4, which make
# tracks by itself.  Because of the afxdp-core link, OVS's own commands
# work in build/ovs as they are: "make", "make check-afxdp" (as root).
#
# Environment:
#   AFXDP_CMAKE_BUILD  CMake build dir holding the core libraries
#                      (default: <repo>/build)
#   OVS_TARBALL        default: /usr/src/openvswitch/openvswitch.tar.gz
#   JOBS               make -j (default: number of CPUs)
#   AFXDP_OVS_SRC, AFXDP_OVS_OBJ, AFXDP_OVS_PREFIX
#                      source tree, build dir and install prefix (default
#                      build/ovs-src, build/ovs, build/install); another
#                      set of them builds a second OVS next to the first,
#                      e.g. with sanitizers (scripts/build-ovs-asan.sh)
#   OVS_CFLAGS, OVS_LDFLAGS
#                      CFLAGS and LDFLAGS for OVS's configure (default:
#                      configure's own)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cmake_build=${AFXDP_CMAKE_BUILD:-$repo/build}
tarball=${OVS_TARBALL:-/usr/src/openvswitch/openvswitch.tar.gz}
jobs=${JOBS:-$(nproc)}
patches=$repo/ovs-patches
src=${AFXDP_OVS_SRC:-$repo/build/ovs-src}
obj=${AFXDP_OVS_OBJ:-$repo/build/ovs}
prefix=${AFXDP_OVS_PREFIX:-$repo/build/install}

core_libs="$cmake_build/netdev-afxdp/libafxdp_netdev.a"
core_libs+=" $cmake_build/umem/libafxdp_umem.a"

t0=$SECONDS
say() { printf 'build-ovs: %s\n' "$*"; }
die() { printf 'build-ovs: error: %s\n' "$*" >&2; exit 1; }
step_time() { say "$1 done ($((SECONDS - t0)) s so far)"; }

# ---- Preconditions -------------------------------------------------------
[[ -r $tarball ]] || die "OVS source tarball $tarball not found" \
    "(apt-get install openvswitch-source)"
[[ -r $patches/series ]] || die "$patches/series not found"
for lib in $core_libs; do
    [[ -r $lib ]] || die "$lib not found: build the core first" \
        "(cmake -S $repo -B $cmake_build &&" \
        "cmake --build $cmake_build --target afxdp_netdev), or run" \
        "scripts/build.sh"
done
for tool in patch automake make cc sha256sum; do
    command -v "$tool" >/dev/null || die "'$tool' is not installed"
done

# Several scripts may call this one at the same time: build once, in turn.
# One lock per source tree: separate trees build side by side.
lock=$repo/build/.build-ovs.lock
[[ $src == "$repo/build/ovs-src" ]] || lock=$src.lock
mkdir -p "$repo/build" "$(dirname "$src")"
exec 9> "$lock"
flock 9 || die "cannot lock $lock"

mapfile -t series < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' \
                          "$patches/series")
for p in "${series[@]}"; do
    [[ -r $patches/$p ]] || die "patch $p listed in series not found"
done

# ---- 1+2. Source tree ------------------------------------------------------
src_stamp=$(
    {
        sha256sum "$tarball" | cut -d' ' -f1
        cat "$patches/series"
        for p in "${series[@]}"; do cat "$patches/$p"; done
    } | sha256sum | cut -d' ' -f1
)

if [[ ! -f $src/.ovs-afxdp-stamp ]] \
   || [[ $(cat "$src/.ovs-afxdp-stamp") != "$src_stamp" ]]; then
    say "extracting $tarball into $src"
    rm -rf "$src" "$obj"
    mkdir -p "$src"
    tar xzf "$tarball" -C "$src" --strip-components=1 \
        || die "cannot extract $tarball"

    regen=none
    for p in "${series[@]}"; do
        say "applying $p"
        patch -d "$src" -p1 --forward --batch --quiet < "$patches/$p" \
            || die "patch $p does not apply to $tarball"
        # Which generated files the patch makes stale.
        if grep -Eq '^\+\+\+ b/(configure\.ac|acinclude\.m4|m4/)' \
               "$patches/$p"; then
            regen=autoreconf
        elif [[ $regen == none ]] \
             && grep -Eq '^\+\+\+ b/(.*\.mk|.*Makefile\.am)([[:space:]]|$)' \
                    "$patches/$p"; then
            regen=automake
        fi
    done

    ln -s "$repo/dpif" "$src/lib/ovs-afxdp"

    case $regen in
        autoreconf) say "running boot.sh (autoreconf)"
                    (cd "$src" && ./boot.sh) || die "boot.sh failed" ;;
        automake)   say "running automake"
                    (cd "$src" && automake) || die "automake failed" ;;
    esac
    echo "$src_stamp" > "$src/.ovs-afxdp-stamp"
    step_time "source tree"
fi

# ---- 3. Configure ----------------------------------------------------------
configure_args=(
    --prefix="$prefix"
    --localstatedir="$prefix/var"
    --sysconfdir="$prefix/etc"
    --enable-afxdp
    CPPFLAGS="-I$repo"
)
[[ -z ${OVS_CFLAGS:-} ]] || configure_args+=(CFLAGS="$OVS_CFLAGS")
[[ -z ${OVS_LDFLAGS:-} ]] || configure_args+=(LDFLAGS="$OVS_LDFLAGS")
cfg_stamp=$(printf '%s\n' "$src_stamp" "${configure_args[@]}" \
                | sha256sum | cut -d' ' -f1)

if [[ ! -f $obj/Makefile ]] || [[ ! -f $obj/.ovs-afxdp-stamp ]] \
   || [[ $(cat "$obj/.ovs-afxdp-stamp") != "$cfg_stamp" ]]; then
    say "configuring in $obj"
    rm -rf "$obj"
    mkdir -p "$obj"
    (cd "$obj" && "$src/configure" "${configure_args[@]}" > configure.out) \
        || die "configure failed; see $obj/config.log"
    grep -q '^#define HAVE_AF_XDP 1' "$obj/config.h" \
        || die "configure did not enable AF_XDP (libxdp/libbpf headers?);" \
               "see $obj/config.log"
    echo "$cfg_stamp" > "$obj/.ovs-afxdp-stamp"
    step_time "configure"
fi

# ---- 4. Build and install --------------------------------------------------
# The Makefile finds the core through this link (AFXDP_CORE_BUILD).
ln -sfn "$cmake_build" "$obj/afxdp-core"
# make relinks when the core archives change, but not when the link now
# points to another directory whose archives are older than the programs.
if [[ $(cat "$obj/.ovs-afxdp-core" 2>/dev/null) != "$cmake_build" ]]; then
    rm -f "$obj/lib/libopenvswitch.la"
    echo "$cmake_build" > "$obj/.ovs-afxdp-core"
fi

say "building (make -j$jobs)"
make -C "$obj" -j"$jobs" > "$obj/make.out" 2>&1 \
    || { tail -n 40 "$obj/make.out" >&2
         die "make failed; full log in $obj/make.out"; }
step_time "make"

say "installing into $prefix"
make -C "$obj" install > "$obj/install.out" 2>&1 \
    || { tail -n 40 "$obj/install.out" >&2
         die "make install failed; full log in $obj/install.out"; }

# Our provider is in, upstream's is not.
vswitchd=$prefix/sbin/ovs-vswitchd
syms=$(nm "$vswitchd") || die "cannot read the symbols of $vswitchd"
grep -q ' T netdev_afxdp_get_status$' <<< "$syms" \
    || die "$vswitchd does not contain the ovs-afxdp glue"
grep -q ' T afxdp_port_open$' <<< "$syms" \
    || die "$vswitchd does not contain the ovs-afxdp core"
if grep -Eq ' [Tt] (umem_pool_init|xsk_configure_all)$' <<< "$syms"; then
    die "$vswitchd still contains upstream's lib/netdev-afxdp*.c"
fi
for f in sbin/ovs-vswitchd sbin/ovsdb-server bin/ovs-vsctl bin/ovs-appctl \
         bin/ovs-ofctl bin/ovsdb-tool share/openvswitch/vswitch.ovsschema; do
    [[ -e $prefix/$f ]] || die "$prefix/$f was not installed"
done
say "installed into $prefix in $((SECONDS - t0)) s"

# ---- 5. Test tools linked with this OVS ------------------------------------
# ovs-flow-keys (tests/bpf/ovs_flow_keys.c): OVS's flow_extract() on frames,
# for the bpf tier's differential test of the XDP parser.  Linked through
# OVS's libtool, which knows what libopenvswitch.la depends on.
tool=$obj/tests/afxdp-ovs-flow-keys
tool_src=$repo/tests/bpf/ovs_flow_keys.c
if [[ ! -x $tool || $tool_src -nt $tool \
      || $obj/lib/.libs/libopenvswitch.a -nt $tool \
      || $repo/bpf/flow/flow_layout.h -nt $tool ]]; then
    # OVS's own flags too: a sanitizer build's library needs them.
    # shellcheck disable=SC2086 # flag lists
    (cd "$obj" && ./libtool --tag=CC --mode=link cc -g -O2 -Wall -Werror \
         ${OVS_CFLAGS:-} ${OVS_LDFLAGS:-} \
         -I"$src/include" -I"$src/lib" -I"$obj" -I"$obj/include" \
         -I"$obj/lib" -I"$repo" -o tests/afxdp-ovs-flow-keys "$tool_src" \
         lib/libopenvswitch.la) > "$obj/ovs-flow-keys.out" 2>&1 \
        || { tail -n 40 "$obj/ovs-flow-keys.out" >&2
             die "building $tool failed; full log in $obj/ovs-flow-keys.out"; }
    say "built $tool"
fi
