"""JE-SSL training: methods, backbones, data + views, Lightning module, RankMe monitor."""

from sweeper.ssl.features import extract_features
from sweeper.ssl.monitor import StopTraining
from sweeper.ssl.train import train

__all__ = ["StopTraining", "extract_features", "train"]
