#!/usr/bin/env bash
# The GPU checks and benchmarks in one run, for a machine with one CUDA GPU (as a borrowed
# device machine runs them): the CUDA tests, the CIFAR-10 ResNet-18 presets for a few epochs
# with the monitor on, RankMe's core against svdvals on the GPU, and a two-trial
# study. Results go to $OUT (default benchmarks/out/gpu).
#
#   CIFAR10_DIR=../shared/data/cifar10 bash benchmarks/gpu_session.sh
#
# Where the packages are not installed (only torch, Lightning, timm there): put their wheels in
# .whl/ and this installs them into /tmp/site first. CIFAR10_TGZ: a tar.gz of the image
# folders (train/, test/) to unpack instead of CIFAR10_DIR.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-benchmarks/out/gpu}"
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
PY="${PYTHON:-python3}"

if [[ -d .whl ]] && ! "$PY" -c "import optuna, hydra, lightly" 2>/dev/null; then
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site .whl/*.whl || exit 1
    export PYTHONPATH="/tmp/site:$PWD"
else
    export PYTHONPATH="$PWD"
fi
if [[ -n "${CIFAR10_TGZ:-}" ]]; then
    mkdir -p /tmp/cifar10 && tar xzf "$CIFAR10_TGZ" -C /tmp/cifar10 || exit 1
    export CIFAR10_DIR=/tmp/cifar10
fi
export CIFAR10_DIR="${CIFAR10_DIR:-../shared/data/cifar10}"

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu.txt"
"$PY" -c "import torch; print('torch', torch.__version__, torch.version.cuda)" | tee -a "$OUT/gpu.txt"

step() {  # step NAME SECONDS COMMAND...: runs it with a time limit, logs to $OUT/NAME.log
    local name=$1 limit=$2; shift 2
    echo "== $name"
    SECONDS=0
    timeout "$limit" "$@" 2>&1 | tee "$OUT/$name.log" | grep -vE '^\s|Warning|warn' | tail -n 40
    echo "== $name: exit ${PIPESTATUS[0]} after ${SECONDS} s"
}

step cuda_tests 60 "$PY" -m pytest -q -p no:cacheprovider tests/metrics/test_rankme.py \
    tests/ssl/test_monitor.py -k "cuda or non_finite"
step preset 240 "$PY" benchmarks/bench_gpu_preset.py --epochs 3 \
    --experiment paper_vicreg_cifar10 --experiment paper_simclr_cifar10
step rankme_gpu 100 "$PY" benchmarks/bench_metrics.py --devices cuda --stream-rows 0 --repeats 5
# The study path on the GPU: two trials of the VICReg preset, one epoch each, local workers.
step sweep_smoke 100 "$PY" -c "import sys; from sweeper.cli import main; sys.exit(main())" \
    sweep experiment=paper_vicreg_cifar10 launcher=local sweep.n_trials=2 max_epochs=1 \
    sweep.study_name=gpu_smoke sweep.dir=/tmp/gpu_smoke
