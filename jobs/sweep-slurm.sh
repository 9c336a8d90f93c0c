#!/usr/bin/env bash
# A label-free sweep on a Slurm cluster: the study lives in PostgreSQL, each worker is a
# Slurm job submitted through submitit (conf/launcher/slurm.yaml), one GPU per worker.
#
#   PGPASSWORD=... jobs/sweep-slurm.sh method=vicreg data=cifar10 data.train_path=/data/cifar10
#
# The password stays in the environment: the URL holds ${oc.env:PGPASSWORD}, which each worker
# resolves itself, so no config file or log holds it; tables show it as ***.
# Watch it with `rankme-sweeper status <same overrides>` or `optuna-dashboard <storage url>`.
set -euo pipefail
: "${PGHOST:=127.0.0.1}" "${PGPORT:=5432}" "${PGUSER:=postgres}" "${PGDATABASE:=sweeps}"
export PGPASSWORD  # read by the workers (sbatch exports the environment)
STORAGE="postgresql+psycopg://${PGUSER}:"'${oc.env:PGPASSWORD}'"@${PGHOST}:${PGPORT}/${PGDATABASE}"
exec rankme-sweeper sweep \
    launcher=slurm launcher.gpus_per_node=1 launcher.cpus_per_task=8 launcher.mem_gb=32 \
    launcher.time_min=720 accelerator=gpu devices=1 \
    sweep.storage="$STORAGE" sweep.workers="${WORKERS:-8}" sweep.n_trials="${TRIALS:-64}" \
    sweep.heartbeat_s=120 "$@"
