#!/usr/bin/env bash
# RankMe's hyperparameter-selection experiment for one method on a Slurm cluster
# (Garrido et al., ICML 2023, Table 1 / Figure 1), from a login node. jobs/paper_vicreg.sh,
# paper_simclr.sh and paper_dino.sh call this with their method.
#
#   IMAGENET_DIR=/datasets/imagenet \
#   SWEEP_STORAGE=postgresql+psycopg://user:pass@dbhost:5432/sweeps \
#       jobs/paper.sh vicreg|simclr|dino [imagenet|cifar10|cifar100] [extra Hydra overrides...]
#
# imagenet: conf/experiment/paper_<method>.yaml (ResNet-50, 100 epochs, LARS, 8 GPUs per
# trial); cifar10/cifar100: paper_<method>_cifar10/100.yaml (ResNet-18, one GPU, sized for
# one GPU-day; data paths from CIFAR10_DIR / CIFAR100_DIR / STL10_DIR).
# 1. `sweep` submits the workers as Slurm jobs (submitit, conf/launcher/slurm.yaml; the
#    experiment sets GPUs, memory and time) and waits until every trial finished.
# 2. `compare` runs the oracle (features, linear probe, kNN per trial) as one GPU job and
#    writes <study folder>/report/ (report.html, report.md, report.json, PNGs).
# Re-running continues the same study. SLURM_PARTITION picks a partition.
set -euo pipefail

METHOD="${1:-}"
case "$METHOD" in
    vicreg | simclr | dino) shift ;;
    *) echo "error: unknown method '$METHOD'; choose vicreg, simclr or dino" >&2; exit 2 ;;
esac
SCALE="${1:-imagenet}"
shift || true
case "$SCALE" in
    imagenet) EXPERIMENT=paper_$METHOD ;;
    cifar10 | cifar100) EXPERIMENT=paper_${METHOD}_$SCALE ;;
    *) echo "error: unknown scale '$SCALE'; choose imagenet, cifar10 or cifar100" >&2; exit 2 ;;
esac
if [[ -z "${SWEEP_STORAGE:-}" ]]; then
    echo "warning: SWEEP_STORAGE is not set; using SQLite in the study folder, which must be" \
         "on a file system every node shares (PostgreSQL is safer for many workers)" >&2
fi
CLI="${RANKME_SWEEPER:-rankme-sweeper}"
OVERRIDES=(experiment="$EXPERIMENT")
[[ -n "${SLURM_PARTITION:-}" ]] && OVERRIDES+=(launcher.partition="$SLURM_PARTITION")

"$CLI" sweep "${OVERRIDES[@]}" "$@"
srun --job-name="$EXPERIMENT-compare" --gpus=1 --cpus-per-task=16 --mem=64G --time=12:00:00 \
    ${SLURM_PARTITION:+--partition="$SLURM_PARTITION"} \
    "$CLI" compare "${OVERRIDES[@]}" "$@"
