#!/usr/bin/env bash
# Static checks of our C++: clang-format (.clang-format), clang-tidy
# (.clang-tidy) and cppcheck, over common/, umem/, netdev-afxdp/, tests/unit/,
# tests/bpf/ and perf/*.cpp|*.h.  Any finding fails the run.
#
# Usage: scripts/lint.sh [FILE...]   (default: every file of those folders)
#   BUILD_DIR  build tree with compile_commands.json (default: build; it is
#              configured, and the BPF skeleton headers generated, if
#              missing)
#   JOBS       parallel clang-tidy/cppcheck jobs (default: number of CPUs)
#   FIX=1      reformat in place instead of only checking the format
# The last line is a summary, e.g.
#   "lint: PASS (format 0/38 files, clang-tidy 0 in 21 files, cppcheck 0) 97s"
# Exit status: 0 clean, 1 findings, 2 a tool or the build tree is missing.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

BUILD_DIR=${BUILD_DIR:-build}
JOBS=${JOBS:-$(nproc)}
CLANG_FORMAT=${CLANG_FORMAT:-clang-format-14}
CLANG_TIDY=${CLANG_TIDY:-clang-tidy-14}
CPPCHECK=${CPPCHECK:-cppcheck}
start=$SECONDS

for tool in "$CLANG_FORMAT" "$CLANG_TIDY" "$CPPCHECK" cmake; do
    if ! command -v "$tool" >/dev/null; then
        echo "lint: $tool not found (scripts/deps.sh installs it)" >&2
        exit 2
    fi
done

# ---- files -------------------------------------------------------------

shopt -s nullglob
if [[ $# -gt 0 ]]; then
    files=("$@")
else
    files=(common/*.h
           umem/*.cpp umem/*.h
           netdev-afxdp/*.cpp netdev-afxdp/*.h
           tests/unit/*.cpp tests/unit/*.h
           tests/bpf/*.cpp tests/bpf/*.h
           perf/*.cpp perf/*.h)
fi
sources=()
for f in "${files[@]}"; do
    if [[ ! -f $f ]]; then
        echo "lint: no such file: $f" >&2
        exit 2
    fi
    [[ $f == *.cpp ]] && sources+=("$ROOT/${f#"$ROOT"/}")
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# ---- clang-format ------------------------------------------------------

echo "==> clang-format (${#files[@]} files)"
format_bad=0
if [[ ${FIX:-0} == 1 ]]; then
    "$CLANG_FORMAT" -i "${files[@]}"
else
    for f in "${files[@]}"; do
        if ! "$CLANG_FORMAT" --dry-run -Werror "$f" 2>"$tmp/format.log"; then
            head -20 "$tmp/format.log"
            echo "$f: not formatted (FIX=1 scripts/lint.sh $f)"
            format_bad=$((format_bad + 1))
        fi
    done
fi

# ---- build tree ----------------------------------------------------------

db=$BUILD_DIR/compile_commands.json
if [[ ! -f $db ]]; then
    echo "==> configuring $BUILD_DIR for compile_commands.json"
    cmake -S . -B "$BUILD_DIR" >"$tmp/cmake.log" 2>&1 || {
        cat "$tmp/cmake.log" >&2
        echo "lint: cmake configure of $BUILD_DIR failed" >&2
        exit 2
    }
fi
# The sources include the generated BPF skeletons (*.skel.h): generate any
# that are missing (their INTERFACE targets are named *_skel; the listing
# is "... name" with Makefiles, "name: phony" with Ninja).
mapfile -t skels < <(cmake --build "$BUILD_DIR" --target help 2>/dev/null |
                     sed -n -E 's/^(\.\.\. )?([A-Za-z0-9_]+_skel)(:| |$).*/\2/p' |
                     sort -u)
if [[ ${#skels[@]} -gt 0 ]]; then
    cmake --build "$BUILD_DIR" -j"$JOBS" --target "${skels[@]}" \
        >"$tmp/skel.log" 2>&1 || {
        cat "$tmp/skel.log" >&2
        echo "lint: generating the BPF skeletons failed" >&2
        exit 2
    }
fi

# Only sources the build compiles can be analysed with the right flags.
in_db=()
for f in "${sources[@]}"; do
    if grep -qF "\"file\": \"$f\"" "$db"; then
        in_db+=("$f")
    else
        echo "lint: ${f#"$ROOT"/} is not in $db (not built here): skipped" \
             "by clang-tidy and cppcheck"
    fi
done

# ---- clang-tidy ----------------------------------------------------------

echo "==> clang-tidy (${#in_db[@]} files, $JOBS jobs)"
tidy_findings=0
if [[ ${#in_db[@]} -gt 0 ]]; then
    mkdir -p "$tmp/tidy"
    # One log per file, printed whole, so that parallel runs do not mix.
    printf '%s\0' "${in_db[@]}" |
        xargs -0 -P "$JOBS" -I{} sh -c '
            log="$3/$(echo "$4" | tr / _).log"
            "$1" -p "$2" --quiet "$4" >"$log" 2>&1
            echo "$?" >"$log.rc"' \
            sh "$CLANG_TIDY" "$BUILD_DIR" "$tmp/tidy" {}
    # The analyzer follows calls into the generated skeletons (*.skel.h in
    # the build tree) and reports there when the path started in our code;
    # that code is bpftool's, not ours: such reports are shown, not counted.
    build_abs=$(cd "$BUILD_DIR" && pwd)
    diag='^[^ ].*:[0-9]+:[0-9]+: (warning|error): '
    for log in "$tmp"/tidy/*.log; do
        all=$(grep -cE "$diag" "$log")
        n=$(grep -E "$diag" "$log" | grep -cv "^$build_abs/")
        rc=$(cat "$log.rc")
        if [[ $all -gt 0 || $rc -ne 0 ]]; then
            grep -v -E '^[0-9]+ (warnings?|errors?) (generated|treated)' \
                "$log" |
                grep -v '^Suppressed \|^Use -header-filter'
            # A crash is a finding too.
            [[ $all -eq 0 ]] && n=1
            tidy_findings=$((tidy_findings + n))
        fi
    done
fi

# ---- cppcheck ------------------------------------------------------------

echo "==> cppcheck (${#in_db[@]} files)"
cppcheck_findings=0
if [[ ${#in_db[@]} -gt 0 ]]; then
    # cppcheck does not read system headers: tell it about libbpf's option
    # struct macros, which it would otherwise stop at (unknownMacro).
    cat >"$tmp/libbpf.cfg" <<'EOF'
<?xml version="1.0"?>
<def format="2">
  <define name="LIBBPF_OPTS(TYPE, NAME, ...)" value="struct TYPE NAME = {}"/>
  <define name="DECLARE_LIBBPF_OPTS(TYPE, NAME, ...)" value="struct TYPE NAME = {}"/>
</def>
EOF
    # cppcheck shortens the database's paths relative to the source tree
    # when the build tree is inside it, and not otherwise: match both.
    filters=()
    for f in "${in_db[@]}"; do
        filters+=("--file-filter=*${f#"$ROOT"/}")
    done
    "$CPPCHECK" --project="$db" "${filters[@]}" \
        --std=c++20 --library=googletest --library="$tmp/libbpf.cfg" \
        --enable=warning,performance,portability --inline-suppr \
        --error-exitcode=1 -j "$JOBS" -q \
        --template='{file}:{line}:{column}: {severity}: {message} [{id}]' \
        2>"$tmp/cppcheck.log"
    rc=$?
    cppcheck_findings=$(grep -cE ': (error|warning|performance|portability|style|information): ' \
                        "$tmp/cppcheck.log")
    cat "$tmp/cppcheck.log"
    [[ $rc -ne 0 && $cppcheck_findings -eq 0 ]] && cppcheck_findings=1
fi

# ---- summary -----------------------------------------------------------

status=PASS
if [[ $format_bad -gt 0 || $tidy_findings -gt 0 || $cppcheck_findings -gt 0 ]]; then
    status=FAIL
fi
echo "lint: $status (format $format_bad/${#files[@]} files," \
     "clang-tidy $tidy_findings in ${#in_db[@]} files," \
     "cppcheck $cppcheck_findings) $((SECONDS - start))s"
[[ $status == PASS ]]
