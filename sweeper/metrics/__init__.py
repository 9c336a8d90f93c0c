"""Label-free spectral metrics of embeddings: RankMe and its peers, on one streaming core."""

from sweeper.metrics.accumulator import SpectrumAccumulator
from sweeper.metrics.lidar import lidar
from sweeper.metrics.measures import (
    alpha_req,
    nesum,
    rankme,
    spectral_metrics,
    stable_rank,
    threshold_rank,
)

__all__ = [
    "SpectrumAccumulator",
    "alpha_req",
    "lidar",
    "nesum",
    "rankme",
    "spectral_metrics",
    "stable_rank",
    "threshold_rank",
]
