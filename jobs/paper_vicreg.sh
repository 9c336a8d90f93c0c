#!/usr/bin/env bash
# RankMe's selection experiment for VICReg (covariance weight, invariance weight, learning rate, weight decay):
#   jobs/paper_vicreg.sh [imagenet|cifar10|cifar100] [extra Hydra overrides...]
# See jobs/paper.sh for the environment it reads and what it runs.
exec "$(dirname "$0")/paper.sh" vicreg "$@"
