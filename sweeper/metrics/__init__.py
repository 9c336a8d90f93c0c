"""Label-free metrics of embeddings: RankMe and its spectral peers on one streaming core,
LiDAR, and IdEst (intrinsic dimension)."""

from sweeper.metrics.accumulator import SpectrumAccumulator
from sweeper.metrics.idest import idest
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
    "idest",
    "lidar",
    "nesum",
    "rankme",
    "spectral_metrics",
    "stable_rank",
    "threshold_rank",
]
