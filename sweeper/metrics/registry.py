"""The one table of label-free metrics: name, direction, label, embedding.

Everything that names a metric reads it: the monitor and ``train`` (which keys a run
records), ``score`` (which keys it prints), the study (an objective's default direction),
the oracle (which way each criterion picks) and the report (labels). Adding a metric is
one entry here plus its function in :mod:`sweeper.metrics.measures`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["COMBINED", "METRICS", "RECORDED", "SELECTING", "SPECTRAL", "Metric", "direction_of",
           "label_of", "metric"]

Direction = Literal["maximize", "minimize"]


@dataclass(frozen=True)
class Metric:
    """One label-free metric of a run's embeddings.

    Attributes:
        name: its key in metrics.json, the study objective and the report.
        direction: which way is better (less collapse).
        label: how tables and figures name it.
        spectral: computed by :func:`~sweeper.metrics.spectral_metrics` from the spectrum
            of the backbone (``name``) and projector (``name + "_projector"``) embeddings.
        selects: a selection criterion in ``compare`` and a possible study objective.
        parts: for a combined criterion, the metrics it combines: ``compare`` computes it
            from their values over a study's trials (docs/metrics.md, "Combined
            criterion"); no run records it and no study takes it as its objective.
    """

    name: str
    direction: Direction
    label: str
    spectral: bool = True
    selects: bool = True
    parts: tuple[str, ...] = ()


# RankMe, NESum, stable rank and LiDAR grow with the number of dimensions in use: higher is
# less collapse. alpha-ReQ is the power-law decay of the covariance spectrum: a smaller
# alpha is a flatter spectrum, so lower is better; a collapsed run has alpha = inf.
# IdEst is the intrinsic dimension of the backbone features (minimum-spanning-tree
# estimator); its paper finds a lower one with a higher probe accuracy, so lower is better.
# threshold_rank (the classical numerical rank) is recorded but selects nothing: nearly every
# run has full numerical rank.
METRICS: tuple[Metric, ...] = (
    Metric("rankme", "maximize", "RankMe"),
    Metric("rankme_projector", "maximize", "RankMe (projector)", spectral=False),
    Metric("alpha_req", "minimize", "alpha-ReQ"),
    Metric("nesum", "maximize", "NESum"),
    Metric("stable_rank", "maximize", "Stable rank"),
    Metric("threshold_rank", "maximize", "Threshold rank", selects=False),
    Metric("lidar", "maximize", "LiDAR", spectral=False),
    Metric("idest", "minimize", "IdEst", spectral=False),
    # The mean of each trial's ranks by RankMe and by LiDAR (1 = best by the registry's
    # direction, ties averaged) among the trials selected from: rank 1 is best, so lower.
    Metric("mean_rank", "minimize", "Mean rank (RankMe, LiDAR)", spectral=False,
           selects=False, parts=("rankme", "lidar")),
)
_BY_NAME = {m.name: m for m in METRICS}


def _base(name: str) -> str:
    return name.removesuffix("_projector")


# The keys spectral_metrics computes for one embedding, in order.
SPECTRAL: tuple[str, ...] = tuple(m.name for m in METRICS if m.spectral)

# The combined criteria: computed by ``compare`` from the values of their parts.
COMBINED: tuple[str, ...] = tuple(m.name for m in METRICS if m.parts)

# The criteria: what ``compare`` selects by and a study may take as its objective.
SELECTING: tuple[str, ...] = tuple(m.name for m in METRICS if m.selects)

# The final values a run records (metrics.json), in order: each spectral metric of the
# backbone and of the projector embeddings, then the metrics of neither kind (LiDAR, IdEst).
RECORDED: tuple[str, ...] = (
    *(f"{k}{s}" for k in SPECTRAL for s in ("", "_projector")),
    *(m.name for m in METRICS
      if not m.spectral and not m.parts and _base(m.name) not in SPECTRAL))


def metric(name: str) -> Metric:
    """The registered metric ``name``.

    Raises:
        ValueError: for an unknown name, listing the known ones.
    """
    if name not in _BY_NAME:
        raise ValueError(f"unknown metric {name!r}; known: {', '.join(_BY_NAME)}")
    return _BY_NAME[name]


def direction_of(name: str) -> Direction:
    """``"maximize"`` or ``"minimize"`` for metric ``name``, e.g. a ``*_projector`` key."""
    return metric(name).direction if name in _BY_NAME else metric(_base(name)).direction


def label_of(name: str) -> str:
    """The label of ``name``; ``*_projector`` keys get " (projector)"; unknown names as is."""
    if name in _BY_NAME:
        return _BY_NAME[name].label
    base = _base(name)
    return f"{_BY_NAME[base].label} (projector)" if base in _BY_NAME else name
