#!/usr/bin/env bash
# Runs the airbench command line with hostile values (0, negative, huge, NaN, a device or a folder where a file is
# expected, a file in the way of a folder) and prints, per invocation, its exit status and its error message (else its
# last line). Every one must end with a message and status 1 or 64 (ArgumentParser's usage error); 124 means it was
# still working after the time limit (a legal but endless request). The script exits 1 if any invocation died by a
# signal (a trap, an allocation failure, a segfault) or ended with another status.
#
#   scripts/hostile_values.sh [BINARY] [DATA]     (defaults: .build/release/airbench, ../shared/data)
#
# Data is needed only for the few invocations that get as far as reading it. Nothing is written outside a temporary
# folder, which is removed at the end. Not a timing: run it on any machine, but not while measuring something else.
set -uo pipefail
cd "$(dirname "$0")/.."
BINARY=${1:-.build/release/airbench}
DATA=${2:-../shared/data}
LIMIT=20
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
died=0

run() {
    local out status
    out=$(cd "$WORK" && timeout "$LIMIT" "$BINARY" "$@" 2>&1 </dev/null)
    status=$?
    local said
    said=$(printf '%s\n' "$out" | grep -i -m1 '^error' || printf '%s\n' "$out" | grep -v '^\s*$' | tail -1)
    printf '%3d | %s | %s\n' "$status" "$*" "$(printf '%s' "$said" | cut -c1-160)"
    if [ "$status" -gt 128 ] || { [ "$status" -ne 0 ] && [ "$status" -ne 1 ] && [ "$status" -ne 64 ] && [ "$status" -ne 124 ]; }; then
        died=1
    fi
}

case "$BINARY" in /*) ;; *) BINARY="$PWD/$BINARY" ;; esac
[ -x "$BINARY" ] || { echo "hostile_values: no executable at $BINARY (swift build -c release)" >&2; exit 2; }
case "$DATA" in /*) ;; *) DATA="$PWD/$DATA" ;; esac
TINY=(--widths 8,8,8 --batch-size 16)
touch "$WORK/file"

# bench: sizes and counts
for value in 0 -1 100000 99999999999; do run bench --threads "$value"; done
for value in 0 -5 99999999999999; do run bench --batch-size "$value"; done
for value in 0,0,0 -1,2,3 99999999,2,3 1,2 ,,; do run bench --widths "$value"; done
for value in 0 -1 9223372036854775807; do run bench --repeats "$value" "${TINY[@]}"; done
for value in 0 -3 9223372036854775807; do run bench --steps "$value" "${TINY[@]}"; done
run bench --widths 8192,8192,8192 --batch-size 65536
run bench --method nosuch
run bench --precision fp16
run bench --errors --data /nonexistent
# train: values checked before the data loads, and files checked before training
for value in 0 -1 nan inf 1e300; do run train94 --epochs "$value" --data "$DATA"; done
for value in 0 -1; do run train94 --runs "$value" --data "$DATA"; done
run train94 --seed -1 --data "$DATA"
run train94 --label-smoothing 1e308 --data "$DATA"
run train94 --train-limit 9223372036854775807 --data "$DATA" "${TINY[@]}"
run train94 --save-model "$WORK" --data "$DATA"
run train94 --save-model /proc/model.safetensors --data "$DATA"
run train94 --log /no-such-folder/run.json --data "$DATA"
run train94 --set 'learningRate=nan' --data "$DATA"
# eval: model files that are not models
run eval --model /nonexistent --data "$DATA"
run eval --model /dev/null --data "$DATA"
run eval --model "$WORK" --data "$DATA"
run eval --model /etc/passwd --data "$DATA"
for value in 7 -1; do run eval --tta "$value" --model x; done
for value in 2 -0.5 nan; do run eval --tta-select "$value" --model x; done
# sweep, collect, compare, report: specs and folders
run sweep /nonexistent.yaml --out "$WORK/out"
run sweep /dev/null --out "$WORK/out"
run sweep /etc/passwd --out "$WORK/out"
for value in 3/2 0/0 -1/2; do run sweep --shard "$value" /dev/null --out "$WORK/out"; done
printf 'name: huge\nseeds: 1\nset: {batchSize: 65536, widths: {block1: 8192, block2: 8192, block3: 8192}}\n' > "$WORK/huge.yaml"
run sweep "$WORK/huge.yaml" --out "$WORK/out" --estimate
run sweep "$WORK/huge.yaml" --out "$WORK/out" --dry-run --estimate
run collect /nonexistent
run collect /dev/null
run collect "$WORK"
run collect "$WORK/file"
run compare /nonexistent a b
for value in 0 1 2 nan; do run compare "$WORK" a b --power "$value"; done
for value in 0 -1 inf 101; do run compare "$WORK" a b --detect "$value"; done
run report /nonexistent
run report "$WORK" --spec /nonexistent

if [ "$died" -ne 0 ]; then
    echo "hostile_values: an invocation died by a signal or an unexpected status (above)" >&2
    exit 1
fi
echo "hostile_values: every invocation ended with a message (status 1 or 64) or was still working at ${LIMIT} s (124)"
