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
# Time, estimated before any v2 run from v1's measured wall time per trial on the 2-core VM
# (docs/reproduction-cifar10.md, 2 workers, 6 epochs, a loaded machine: upper bounds):
# VICReg 2.5 min, SimCLR 1.76 min a trial; DINO taken as VICReg's. v2 trains 4 epochs
# (x 4/6) and measures LiDAR (1,000 images x 8 augmentations) and IdEst (2,000 images)
# each epoch, taken as +20%:
#   vicreg 27 trials x 2.0 min = 54 min
#   simclr 21 trials x 1.4 min = 30 min
#   dino   15 trials x 2.0 min = 30 min
#   sweeps 114 min; compare at most 20% of that (issue 21's cheaper oracle) = 23 min;
#   the image cache once, under 1 min: about 137 minutes in all, within the 150.
# The compare estimate holds only with that oracle: v1's took 1.5 min a trial, which for these
# 63 trials would be about 90 minutes more.
#
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
