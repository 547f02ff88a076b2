#!/usr/bin/env bash
# The performance set of issue 10 on one machine, side by side, nothing else running: the machine's CPU, the
# per-layer tables (bench --json, every precision this CPU has), one epoch plus TTA for PyTorch and for us in
# each precision (PyTorch's bf16 only where the CPU has AVX512_BF16: elsewhere it is emulated, ~12× slower),
# thread scaling (1 against all threads, `bench --scaling`: 10 pairs of adjacent measurements, since two separate
# benches minutes apart can differ by 10% on a VM), and, with FULL=1, a full airbench94 run in the fastest precision.
# With AVX2=1 both sides run as on an AVX2-only CPU (a Zen 3, say) on a machine with AVX-512: ours with
# `--kernel-path avx2`, PyTorch with ATEN_CPU_CAPABILITY=avx2 and ONEDNN_MAX_CPU_ISA=AVX2; fp32 only.
#
#   scripts/side_by_side.sh PYTHON OUT        (PYTHON: a Python with torch, numpy and safetensors; OUT: where the reports go)
#
# CIFAR-10 comes from $AIRBENCH_DATA (default ../shared/data); PyTorch reads the cache's extracted copy.
# Peak memory is each training's "Maximum resident set size" in OUT/*.time.
set -euo pipefail
python=${1:?usage: scripts/side_by_side.sh PYTHON OUT}
out=${2:?usage: scripts/side_by_side.sh PYTHON OUT}
cd "$(dirname "$0")/.."
swift build -c release --product airbench >/dev/null
airbench=.build/release/airbench
data=${AIRBENCH_DATA:-../shared/data}
mkdir -p "$out"
$airbench train94 --data "$data" --epochs 0.01 --no-warmup --no-epoch-eval --tta 0 >/dev/null  # extracts once
folder=$(ls -d "${AIRBENCH_CACHE:-$HOME/.cache/airbench}"/extracted/*/cifar-10-batches-bin | head -1)
precisions=(fp32)
grep -qw avx512_bf16 /proc/cpuinfo && precisions=(bf16 fp32)
path=()
if [[ ${AVX2:-0} == 1 ]]; then
    precisions=(fp32) path=(--kernel-path avx2)
    export ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2
fi
{
    echo "date: $(date -u)"
    grep -m1 'model name' /proc/cpuinfo
    grep -m1 'cpu family' /proc/cpuinfo
    grep -m1 '^model[[:space:]]*:' /proc/cpuinfo  # family 25 model 1 is a Zen 3, model 17 a Zen 4; family 26 a Zen 5
    echo "flags: $(grep -o 'avx2\|avx512[a-z_0-9]*' /proc/cpuinfo | sort -u | tr '\n' ' ')"
    git log -1 --format='commit: %h %s'
    [[ ${#path[@]} == 0 ]] || echo "restricted to AVX2 on both sides: ${path[*]}, ONEDNN_MAX_CPU_ISA=AVX2"
} | tee "$out/machine.txt"
for p in "${precisions[@]}"; do
    echo "== bench $p"
    $airbench bench --repeats 3 --steps 2 --precision "$p" "${path[@]}" --json > "$out/bench_$p.json"
    $airbench bench --repeats 3 --steps 2 --precision "$p" "${path[@]}" --threads 1 --json > "$out/bench_${p}_1thread.json"
    $airbench bench --scaling --repeats 10 --steps 2 --precision "$p" "${path[@]}" --json > "$out/scaling_$p.json"
    python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print('  scaling 1 -> %d threads: %.3fx [%.3f, %.3f], median %.3fx' % (r['threads'], r['meanRatio'], *r['ratioInterval95'], r['medianRatio']))" \
        "$out/scaling_$p.json"
done
for p in "${precisions[@]}"; do
    echo "== PyTorch, one epoch + TTA, $p"
    "$python" scripts/pytorch_peer.py --data "$folder" --precision "$p" --epochs 1 | tee "$out/pytorch_$p.txt" | tail -1
    echo "== airbench, one epoch + TTA, $p"
    /usr/bin/time -v -o "$out/airbench_$p.time" $airbench train94 --data "$data" --epochs 1 --no-epoch-eval \
        --precision "$p" "${path[@]}" --progress-interval 600 | tee "$out/airbench_$p.txt" | grep -E 'eval|Mean'
done
if [[ ${FULL:-0} == 1 ]]; then
    echo "== airbench, full run, ${precisions[0]}"
    /usr/bin/time -v -o "$out/full.time" $airbench train94 --data "$data" --no-epoch-eval --log "$out/full.json" --precision "${precisions[0]}" \
        "${path[@]}" --progress-interval 600 | tee "$out/full.txt" | grep -E 'eval|Mean'
fi
echo "== done $(date -u)"
