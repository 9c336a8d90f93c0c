#!/usr/bin/env bash
# The GPU checks and benchmarks of issue 19 in one run, for a machine with one CUDA GPU (as a
# borrowed device machine runs them), about 6 minutes (its time limits add up to 8.6):
#   1. CUDA smoke tests (RankMe on the GPU, the monitor, device-held batches, ForeachLARS);
#   2. the step profile of the CIFAR-10 ResNet-18 VICReg and SimCLR presets, each lever
#      added in turn (benchmarks/profile_step.py: phases, images/s, device busy share,
#      monitor share);
#   3. the presets as trials run them (benchmarks/bench_gpu_preset.py, 16-mixed), with the
#      levers on (the defaults) and, for VICReg, with data.on_device=false and channels_last
#      off, nvidia-smi sampling the GPU's utilization beside each;
#   4. study throughput with 1, 2 and 4 trials per GPU (launcher.trials_per_gpu, local
#      launcher): trial-epochs per hour from the study's wall time and from steady epochs.
# Everything goes to $OUT (default benchmarks/out/gpu); summary.txt holds the headline lines.
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
export RANKME_SWEEPER_CACHE="${RANKME_SWEEPER_CACHE:-/tmp/rankme-cache}"

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu.txt"
"$PY" -c "import torch; print('torch', torch.__version__, torch.version.cuda)" | tee -a "$OUT/gpu.txt"
nproc | sed 's/^/cpu cores: /' | tee -a "$OUT/gpu.txt"

step() {  # step NAME SECONDS COMMAND...: runs it with a time limit, logs to $OUT/NAME.log
    local name=$1 limit=$2; shift 2
    echo "== $name"
    SECONDS=0
    timeout "$limit" "$@" 2>&1 | tee "$OUT/$name.log" | grep -vE '^\s|Warning|warn' | tail -n 30
    echo "== $name: exit ${PIPESTATUS[0]} after ${SECONDS} s" | tee -a "$OUT/summary.txt"
}

smi() {  # smi NAME SECONDS COMMAND...: step, with nvidia-smi sampling every 200 ms beside it
    local name=$1
    nvidia-smi --query-gpu=timestamp,utilization.gpu,memory.used --format=csv,noheader,nounits \
        -lms 200 > "$OUT/smi_$name.csv" 2>/dev/null &
    local sampler=$!
    step "$@"
    kill "$sampler" 2>/dev/null; wait "$sampler" 2>/dev/null
    "$PY" benchmarks/gpu_session_summary.py smi "$OUT/smi_$name.csv" | tee -a "$OUT/summary.txt"
}

# 1. CUDA smoke tests (the CPU suite covers the rest; these are the CUDA-only cases).
step cuda_tests 45 "$PY" -m pytest -q -p no:cacheprovider tests/metrics/test_rankme.py \
    tests/ssl/test_monitor.py tests/ssl/test_on_device.py tests/ssl/test_fast_step.py \
    -k "cuda or non_finite"

# 2. Where a step's time goes, lever by lever (one process, both presets).
step profile 100 "$PY" benchmarks/profile_step.py --steps 30 --warmup 5 \
    --experiment paper_vicreg_cifar10 --experiment paper_simclr_cifar10
"$PY" benchmarks/gpu_session_summary.py json "$OUT/profile.log" | tee -a "$OUT/summary.txt"

# 3. The presets as a trial trains them: levers on (defaults), then VICReg without the data
#    and memory-format levers (ForeachLARS has no key: its share is in the profile).
smi preset_after 120 "$PY" benchmarks/bench_gpu_preset.py --epochs 2 \
    --experiment paper_vicreg_cifar10 --experiment paper_simclr_cifar10
smi preset_before 60 "$PY" benchmarks/bench_gpu_preset.py --epochs 2 \
    --experiment paper_vicreg_cifar10 data.on_device=false performance.disable_channel_last=true
for name in preset_after preset_before; do
    "$PY" benchmarks/gpu_session_summary.py json "$OUT/$name.log" | tee -a "$OUT/summary.txt"
done

# 4. Study throughput: T trials share the GPU (T local workers, launcher.trials_per_gpu=T),
#    T trials of 2 epochs on half of CIFAR-10 (25,000 images), monitor on.
for T in 1 2 4; do
    smi "trials_per_gpu_$T" $((40 + 10 * T)) "$PY" -c "import sys; from sweeper.cli import main; sys.exit(main())" \
        sweep experiment=paper_vicreg_cifar10 launcher=local launcher.trials_per_gpu=$T \
        sweep.workers=$T sweep.n_trials=$T max_epochs=2 data.fraction=0.5 \
        checkpoint.enabled=false sweep.study_name=tpg_$T sweep.dir=/tmp/tpg_$T
    "$PY" benchmarks/gpu_session_summary.py study "/tmp/tpg_$T" "$T" | tee -a "$OUT/summary.txt"
done
echo "== done"; cat "$OUT/summary.txt"
