#!/usr/bin/env bash
# RankMe's selection experiment on CIFAR-10 on a CPU (2 cores are enough): the VICReg and
# SimCLR studies of conf/experiment/cifar10_cpu_{vicreg,simclr}.yaml, each swept to the end
# (no pruning) and compared with the linear-probe and kNN oracles. Reports go to
# outputs/sweeps/cifar10_cpu_<method>/report/; docs/reproduction-cifar10.md reads them.
#
#   jobs/cifar10-cpu.sh [extra Hydra overrides for both studies...]
#
# CIFAR10_DIR: the image folders (train/<class>/*.jpg, test/<class>/*.jpg); default
# ../shared/data/cifar10. Re-running continues (and then only re-compares) the studies.
set -euo pipefail
cd "$(dirname "$0")/.."
CLI="${RANKME_SWEEPER:-.venv/bin/rankme-sweeper}"
CIFAR10_DIR="$(realpath "${CIFAR10_DIR:-../shared/data/cifar10}")"
export CIFAR10_DIR

for method in vicreg simclr; do
    SECONDS=0
    "$CLI" sweep experiment="cifar10_cpu_$method" "$@"
    echo "== sweep cifar10_cpu_$method: ${SECONDS} s"
    SECONDS=0
    "$CLI" compare experiment="cifar10_cpu_$method" "$@"
    echo "== compare cifar10_cpu_$method: ${SECONDS} s"
done
