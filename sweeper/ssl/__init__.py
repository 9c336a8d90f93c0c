"""JE-SSL training: methods, backbones, data + views, Lightning module, RankMe monitor."""

from sweeper.ssl.features import extract_features
from sweeper.ssl.train import train

__all__ = ["extract_features", "train"]
