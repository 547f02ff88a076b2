#!/usr/bin/env bash
# End to end on every data set from the command line: train a reduced airbench94 with --dataset, save the model,
# evaluate it with `airbench eval` (fp32, TTA 0 and 2), load it into PyTorch and evaluate it there (scripts/README.md).
#
#   scripts/datasets_end_to_end.sh PYTHON OUT
#
# PYTHON: a Python with torch, safetensors, numpy, scipy and Pillow. OUT: where the data-set copies, models and logs go.
# CIFAR-10 comes from $AIRBENCH_DATA (default ../shared/data); the other three are make_dataset_copies.py's copies.
set -euo pipefail
python=${1:?usage: scripts/datasets_end_to_end.sh PYTHON OUT}
out=${2:?usage: scripts/datasets_end_to_end.sh PYTHON OUT}
cd "$(dirname "$0")/.."
swift build -c release --product airbench >/dev/null
airbench=.build/release/airbench
mkdir -p "$out"
cifar10=${AIRBENCH_DATA:-../shared/data}
# The extracted CIFAR-10 folder (the PyTorch side reads the .bin files): the cache's copy.
folder=$($airbench eval --help >/dev/null; ls -d "${AIRBENCH_CACHE:-$HOME/.cache/airbench}"/extracted/*/cifar-10-batches-bin 2>/dev/null | head -1 || true)
if [[ ! -f $out/copies/svhn/test_32x32.mat || ! -d $out/copies/CINIC-10/test/truck ]]; then
    [[ -n $folder ]] || { echo "extract CIFAR-10 first: $airbench train94 --data $cifar10 --epochs 0.01 --no-warmup"; exit 1; }
    "$python" scripts/make_dataset_copies.py "$folder" "$out/copies"
fi
run() {  # NAME DATA-FOR-AIRBENCH DATA-FOR-PYTORCH ARGS...
    local name=$1 data=$2 torchdata=$3
    shift 3
    echo "== $name"
    /usr/bin/time -f "   train: %e s wall, %M KiB max RSS" $airbench train "$@" --data "$data" \
        --save-model "$out/$name.safetensors" --log "$out/$name.json" --progress-interval 600 | grep -E '^data:|Mean:|^\| *0 *\| *eval'
    # fp32, as PyTorch evaluates: the two accuracies then differ only by the order of float sums.
    $airbench eval --model "$out/$name.safetensors" --data "$data" --precision fp32 --tta 0 | sed 's/^/   /'
    $airbench eval --model "$out/$name.safetensors" --data "$data" --precision fp32 --tta 2 | sed 's/^/   /'
    "$python" scripts/pytorch_peer.py --data "$torchdata" --evaluate-model "$out/$name.safetensors" | sed 's/^/   /'
}
reduced=(--train-limit 10000 --epochs 5 --no-warmup --no-epoch-eval)
run cifar10 "$cifar10" "$folder" airbench94 "${reduced[@]}"
run cifar100-fine "$out/copies" "$out/copies/cifar-100-binary" airbench94 --dataset cifar100 "${reduced[@]}"
run cifar100-coarse "$out/copies" "$out/copies/cifar-100-binary" airbench94 --dataset cifar100 --labels coarse "${reduced[@]}"
run svhn "$out/copies/svhn" "$out/copies/svhn" airbench94 --dataset svhn "${reduced[@]}"
run cinic10 "$out/copies/CINIC-10" "$out/copies/CINIC-10" airbench94 --dataset cinic10 "${reduced[@]}"
run table5-svhn-cutout "$out/copies/svhn" "$out/copies/svhn" table5-svhn-cutout --widths 32,64,64 --train-limit 10000 \
    --epochs 2 --no-warmup --no-epoch-eval
