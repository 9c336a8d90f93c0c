#!/usr/bin/env bash
# RankMe's selection experiment v2 on CIFAR-10 on a CPU (issue 21), one command per method:
# conf/experiment/cifar10_cpu_v2_<method>.yaml swept to the end (3 seeds per point, LiDAR
# and IdEst in every trial, no pruning), compared with the linear-probe and kNN oracles, and
# the pruning replayed on the finished study. Reports go to
# outputs/sweeps/cifar10_cpu_v2_<method>/report/.
#
#   jobs/cifar10-cpu-v2.sh vicreg [extra Hydra overrides...]
#   jobs/cifar10-cpu-v2.sh simclr
#   jobs/cifar10-cpu-v2.sh dino
#
# Time. The first start (10,000 training images) measured 60 s an epoch on each of the two
# workers (LiDAR and IdEst included), i.e. about 2.2 min a trial: the sweeps alone would
# have taken about 130 of the 150 minutes. It was stopped before any trial ended and the
# training set halved to 5,000 images (about 35 s an epoch expected): roughly 75 minutes of
# sweeps for the 63 trials, leaving the rest for compare (60,000 images embedded and probed
# per trial). What each command took is printed after it ("== sweep ...: N s") and recorded
# in docs/reproduction-cifar10.md.
# CIFAR10_DIR: the image folders (train/<class>/*.jpg, test/<class>/*.jpg); default
# ../shared/data/cifar10. Re-running continues (and then only re-compares) the study.
set -euo pipefail
cd "$(dirname "$0")/.."
method="${1:?usage: jobs/cifar10-cpu-v2.sh vicreg|simclr|dino [overrides...]}"
shift
case "$method" in
    vicreg|simclr|dino) ;;
    *) echo "unknown method '$method'; choose vicreg, simclr or dino" >&2; exit 2 ;;
esac
CLI="${RANKME_SWEEPER:-.venv/bin/rankme-sweeper}"
PYTHON="${PYTHON:-.venv/bin/python}"
CIFAR10_DIR="$(realpath "${CIFAR10_DIR:-../shared/data/cifar10}")"
export CIFAR10_DIR
study="cifar10_cpu_v2_$method"

SECONDS=0
"$CLI" sweep experiment="$study" "$@"
echo "== sweep $study: ${SECONDS} s"
SECONDS=0
"$CLI" compare experiment="$study" "$@"
echo "== compare $study: ${SECONDS} s"
"$PYTHON" benchmarks/pruning_replay.py "sqlite:///outputs/sweeps/$study/study.db" "$study" \
    --n-warmup-steps 1
