#!/usr/bin/env bash
# RankMe's selection experiment for DINO (teacher and student temperatures):
#   jobs/paper_dino.sh [imagenet|cifar10|cifar100] [extra Hydra overrides...]
# See jobs/paper.sh for the environment it reads and what it runs.
exec "$(dirname "$0")/paper.sh" dino "$@"
