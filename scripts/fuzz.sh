#!/usr/bin/env bash
# Builds the libFuzzer harnesses of Fuzz/ (with -sanitize=fuzzer,address) and runs each for SECONDS.
#
#   scripts/fuzz.sh [SECONDS] [HARNESS ...]      SECONDS defaults to 600; HARNESS defaults to all of:
#                                                tar gzip cifar10 cifar100 mat png safetensors sweepspec
#
# Each harness starts from a fresh copy of its committed seed corpus Fuzz/corpus/HARNESS/ in
# Fuzz/work/HARNESS/ (new inputs that reach new code are added there, not to the committed corpus), with
# -max_total_time=SECONDS -rss_limit_mb=2048 -malloc_limit_mb=2048 -timeout=10. A crash, hang (> 10 s on one
# input) or memory
# blow-up is written to Fuzz/findings/HARNESS/ (crash-*, timeout-*, oom-*; slow-unit-* are kept too but are
# not failures); reproduce one with
#   Fuzz/.build/release/fuzz-HARNESS Fuzz/findings/HARNESS/crash-...
# The log of each run is Fuzz/work/HARNESS.log. Fuzz/work/ and Fuzz/findings/ are git-ignored.
# Every finding is rerun once on its own (log: ARTIFACT.rerun.log); a timeout that does not reproduce
# (the run was paused, and libFuzzer's timeout counts wall-clock time) is reported but not counted.
# Exits 0 when no harness found anything, 1 when one did, 2 when the build failed.
set -uo pipefail

all=(tar gzip cifar10 cifar100 mat png safetensors sweepspec)
seconds=${1:-600}
[[ $# -gt 0 ]] && shift
harnesses=("$@")
[[ ${#harnesses[@]} -eq 0 ]] && harnesses=("${all[@]}")
if ! [[ $seconds =~ ^[0-9]+$ ]] || (( seconds < 1 )); then
    echo "usage: scripts/fuzz.sh [SECONDS] [HARNESS ...]   (harnesses: ${all[*]})" >&2
    exit 2
fi
for harness in "${harnesses[@]}"; do
    if [[ " ${all[*]} " != *" $harness "* ]]; then
        echo "unknown harness '$harness'; the harnesses are: ${all[*]}" >&2
        exit 2
    fi
done

cd "$(dirname "$0")/../Fuzz" || exit 2
# -sanitize=fuzzer alone links libFuzzer but, in this toolchain's release builds, leaves the code without
# coverage instrumentation (libFuzzer then finds nothing: "no interesting inputs"); ask for it explicitly.
build=(swift build -c release --sanitize fuzzer --sanitize address
       -Xswiftc -sanitize-coverage=edge,trace-cmp,inline-8bit-counters,pc-table)
echo "building: ${build[*]} (in Fuzz/)"
if ! "${build[@]}"; then
    echo "fuzz.sh: the build failed" >&2
    exit 2
fi
bin=$("${build[@]}" --show-bin-path) || exit 2

# Leaks are not what these harnesses look for (see -detect_leaks=0 below): AddressSanitizer's report at exit is
# off too.
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0

# Let libFuzzer's own handler report a Swift trap (with the stack, symbolized when llvm-symbolizer is
# found beside swift) instead of the Swift runtime's backtracer, which does not mix with AddressSanitizer.
export SWIFT_BACKTRACE=enable=no
if [[ -z ${ASAN_SYMBOLIZER_PATH:-} ]] && symbolizer=$(dirname "$(command -v swift)")/llvm-symbolizer && [[ -x $symbolizer ]]; then
    export ASAN_SYMBOLIZER_PATH=$symbolizer
fi

found=()
for harness in "${harnesses[@]}"; do
    work="work/$harness"
    findings="findings/$harness"
    rm -rf "$work"
    mkdir -p "$work" "$findings"
    cp corpus/"$harness"/* "$work"/
    before=$(find "$findings" -type f ! -name '*.rerun.log' ! -name 'slow-unit-*' | wc -l)
    echo "== $harness: ${seconds}s, seeds: $(ls corpus/"$harness" | wc -l) files"
    # Swift's runtime keeps some allocations for the life of the process (metadata caches), which
    # LeakSanitizer would report as leaks of every input; leaks are not what these harnesses look for.
    # Any single allocation over 2 GB (a size taken from the input) is a finding.
    "$bin/fuzz-$harness" "$work" -max_total_time="$seconds" -rss_limit_mb=2048 -malloc_limit_mb=2048 -timeout=10 \
        -detect_leaks=0 -artifact_prefix="$findings/" -print_final_stats=1 </dev/null >"work/$harness.log" 2>&1
    status=$?
    # A harness without coverage feedback fuzzes blind: that is a broken build, not a clean result.
    if ! grep -qE 'INITED cov: [1-9]' "work/$harness.log"; then
        echo "fuzz.sh: $harness ran without coverage instrumentation (see Fuzz/work/$harness.log)" >&2
        exit 2
    fi
    after=$(find "$findings" -type f ! -name '*.rerun.log' ! -name 'slow-unit-*' | wc -l)
    grep -E '^#[0-9]+[[:space:]]+DONE|stat::number_of_executed_units|stat::average_exec_per_sec|stat::peak_rss_mb' "work/$harness.log" \
        | sed "s/^/   /"
    # libFuzzer also keeps inputs slower than 10 s as slow-unit-*: not failures (exit status 0), and a
    # paused run produces them too, so they are only mentioned.
    grep -h 'Test unit written to .*slow-unit-' "work/$harness.log" | sed 's/^.*Test unit written to /   slow unit (wall-clock time, not a failure): /'
    if (( status != 0 || after > before )); then
        echo "   FOUND something (exit status $status): see Fuzz/$findings/ and Fuzz/work/$harness.log"
        grep -E '^==[0-9]+==ERROR|^SUMMARY|Fatal error|ERROR: libFuzzer' "work/$harness.log" | head -5 | sed "s/^/   /"
        # Each finding is run once more on its own. A timeout is measured in wall-clock time, so a run
        # that was paused (SIGSTOP, a suspended laptop) reports inputs that are not slow at all; such a
        # timeout that does not reproduce is reported but does not count.
        reproduced=0
        for artifact in "$findings"/*; do
            # Only this run's findings: not the logs, not what an earlier run already rerun.
            [[ -f $artifact && $artifact != *.rerun.log && $artifact != */slow-unit-* && ! -e $artifact.rerun.log ]] || continue
            if "$bin/fuzz-$harness" -timeout=10 -rss_limit_mb=2048 -detect_leaks=0 "$artifact" </dev/null >"$artifact.rerun.log" 2>&1; then
                if [[ $(basename "$artifact") == timeout-* ]]; then
                    echo "   $artifact: does not reproduce (a paused run?); see $artifact.rerun.log"
                    continue
                fi
                echo "   $artifact: does not reproduce on its own; counted all the same"
            else
                echo "   $artifact: reproduces"
            fi
            reproduced=1
        done
        (( reproduced || status != 0 && status != 70 )) && found+=("$harness")
    else
        echo "   no findings; corpus now $(ls "$work" | wc -l) files"
    fi
done

if (( ${#found[@]} > 0 )); then
    echo "fuzz.sh: findings in: ${found[*]}"
    exit 1
fi
echo "fuzz.sh: ${#harnesses[@]} harness(es), ${seconds}s each, no findings"
