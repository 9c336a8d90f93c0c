"""JE-SSL training: methods, backbones, data + views, Lightning module, RankMe monitor."""

from sweeper.ssl.features import extract_features
from sweeper.ssl.precheck import RESUME_OVERRIDES, check_trials
from sweeper.ssl.train import train

# The hooks a sweep reads on its sweep.train_fn (sweeper.study.train_fn): "sweeper.ssl:train"
# names this function, and the study imports nothing of sweeper.ssl itself.
train.check_trials = check_trials  # type: ignore[attr-defined]
train.resume_overrides = RESUME_OVERRIDES  # type: ignore[attr-defined]

__all__ = ["extract_features", "train"]
