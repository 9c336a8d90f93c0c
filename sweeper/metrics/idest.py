"""IdEst: the intrinsic dimension of frozen features by the minimum-spanning-tree estimator.

Mordacq, Kalogeiton & Oudot, "IdEst: Assessing Self-Supervised Learning Representations via
Intrinsic Dimension", ICML 2026 (arXiv:2606.03338). IdEst is ``dim_MST`` of the features,
label-free; across 33 SSL models it correlates with linear-probe accuracy at Spearman
rho of about -0.8: a lower intrinsic dimension goes with a higher accuracy, so a study
selects the lowest IdEst (registry direction ``minimize``).

``dim_MST`` (Kozma, Lotker & Stupp 2006; Schweinhart 2021: the PH_0 dimension; Jaquette &
Schweinhart 2020 for the estimator). For a finite set X and a weight ``alpha > 0``::

    E_alpha(X) = sum_{e in MST(X)} |e|^alpha       (Euclidean edge lengths)

For n points drawn from a measure on a d-dimensional set (0 < alpha < d),
``E_alpha(X_n) ~ C n^((d - alpha) / d)`` (Steele 1988). With m the least-squares slope of
``log E_alpha(X_n)`` against ``log n`` over subsets of several sizes n::

    dim_MST = alpha / (1 - m)

What this module fixes where a choice is open (the paper's method section could not be read
where this was written, so these are this package's choices, stated here and in
docs/metrics.md, not the paper's values): ``alpha = 1`` (the plain MST length, the usual
PH_0-dimension setting); the features are used as given (no centring or normalisation:
dim_MST is invariant to translation, rotation and scale anyway); at most ``max_points``
rows (4,096) form the pool, a seeded random subset of a larger input; ``n_sizes = 10``
subset sizes spaced evenly in ``log n`` from ``max(10, min_fraction * N)`` to the pool's
N (``min_fraction = 0.1``); ``repeats = 3`` seeded random subsets (without replacement) of
each size below N, their ``E_alpha`` averaged before the log. The result depends only on
the data and ``seed``.

Like every MST estimator it reads low at high d with few points (the slope has not reached
its limit): uniform points on a 10-dimensional subspace read about 8 from 2,000 points
(tests/metrics/test_idest.py states each case's tolerance). A collapsed representation
has a low dimension too: IdEst ranks runs that trained, it does not flag collapse.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

__all__ = ["IDEST_ALPHA", "IDEST_MAX_POINTS", "idest", "mst_length", "subset_sizes"]

IDEST_ALPHA = 1.0
IDEST_MAX_POINTS = 4096
IDEST_N_SIZES = 10
IDEST_MIN_FRACTION = 0.1
IDEST_REPEATS = 3
MIN_SUBSET = 10  # the smallest subset whose MST enters the regression
MIN_ROWS = 50


def _as_float64(z: Any) -> np.ndarray:
    if isinstance(z, torch.Tensor):
        if z.is_complex() or z.dtype == torch.bool:
            raise ValueError(f"IdEst needs real-valued features, got dtype {z.dtype}")
        return z.detach().to("cpu", torch.float64).numpy()
    if isinstance(z, np.ndarray):
        if z.dtype.kind not in "fiu":
            raise ValueError(f"IdEst needs real-valued features, got dtype {z.dtype}")
        return np.asarray(z, dtype=np.float64)
    raise ValueError(f"IdEst needs a torch.Tensor or numpy.ndarray, got {type(z).__name__}")


def pairwise_distances(x: np.ndarray) -> np.ndarray:
    """Euclidean distances between the rows of ``x`` (float64, zero diagonal)."""
    x = x - x.mean(axis=0)  # smaller norms: less cancellation in |a|^2 + |b|^2 - 2 a.b
    sq = np.einsum("ij,ij->i", x, x)
    d2 = sq[:, None] + sq[None, :] - 2.0 * (x @ x.T)
    np.maximum(d2, 0.0, out=d2)
    np.fill_diagonal(d2, 0.0)
    return np.sqrt(d2, out=d2)


def mst_length(dist: np.ndarray, alpha: float = IDEST_ALPHA) -> float:
    """``sum |e|^alpha`` over the edges of a minimum spanning tree of a dense distance matrix.

    Prim's algorithm, O(n^2) time and O(n) memory beyond ``dist``; zero distances
    (duplicate points) are edges of length 0, not missing edges.
    """
    n = dist.shape[0]
    outside = np.zeros(n)  # 0 for a vertex outside the tree, inf once inside
    outside[0] = np.inf
    best = dist[0] + outside  # each outside vertex's shortest edge to the tree
    total = 0.0
    for _ in range(n - 1):
        v = int(np.argmin(best))
        total += float(best[v]) ** alpha
        outside[v] = np.inf
        np.minimum(best, dist[v] + outside, out=best)
        best[v] = np.inf
    return total


def subset_sizes(n: int, n_sizes: int = IDEST_N_SIZES,
                 min_fraction: float = IDEST_MIN_FRACTION) -> list[int]:
    """The subset sizes of the regression: ``n_sizes`` spaced evenly in log n up to ``n``."""
    low = max(MIN_SUBSET, round(min_fraction * n))
    return sorted({round(float(s)) for s in np.geomspace(low, n, n_sizes)})


def idest(features: Any, *, alpha: float = IDEST_ALPHA, max_points: int = IDEST_MAX_POINTS,
          n_sizes: int = IDEST_N_SIZES, min_fraction: float = IDEST_MIN_FRACTION,
          repeats: int = IDEST_REPEATS, seed: int = 0) -> float:
    """IdEst: ``dim_MST`` of an N x K feature matrix (see the module docstring).

    Args:
        features: N x K torch tensor or numpy array, N >= 50, finite.
        alpha: the edge-length exponent; an estimate is meaningful for d > alpha.
        max_points: the largest pool; a seeded random subset of a larger input is used.
        n_sizes: how many subset sizes the regression has (at least 3 distinct).
        min_fraction: the smallest subset as a fraction of the pool (at least 10 points).
        repeats: random subsets averaged at each size below the pool's size.
        seed: the subsets' random seed.

    Returns:
        The estimate: 0.0 when every point is the same, ``math.inf`` when the MST length
        grows at least linearly in n (no dimension at this scale).

    Raises:
        ValueError: on a shape other than N x K with N >= 50, NaN or Inf values, or settings
            out of range, naming the value.

    Example:
        >>> line = np.random.default_rng(0).normal(size=(1000, 1)) * np.ones((1, 64))
        >>> round(idest(line))  # points on a line in R^64
        1
    """
    x = _as_float64(features)
    if x.ndim != 2 or x.shape[1] < 1:
        raise ValueError(f"IdEst needs an N x K feature matrix, got shape {tuple(x.shape)}")
    n = x.shape[0]
    if n < MIN_ROWS:
        raise ValueError(f"IdEst needs at least {MIN_ROWS} feature rows, got N={n}")
    bad = int(np.count_nonzero(~np.isfinite(x)))
    if bad:
        raise ValueError(f"IdEst: {bad} of {x.size} feature values are not finite (NaN or Inf)")
    if not alpha > 0:
        raise ValueError(f"IdEst: alpha must be > 0, got {alpha}")
    if max_points < MIN_ROWS or repeats < 1 or not 0 < min_fraction < 1:
        raise ValueError(f"IdEst: needs max_points >= {MIN_ROWS}, repeats >= 1 and "
                         f"0 < min_fraction < 1; got max_points={max_points}, "
                         f"repeats={repeats}, min_fraction={min_fraction}")
    rng = np.random.default_rng(seed)
    if n > max_points:
        x = x[np.sort(rng.choice(n, size=max_points, replace=False))]
        n = max_points
    sizes = subset_sizes(n, n_sizes, min_fraction)
    if len(sizes) < 3:
        raise ValueError(f"IdEst: n_sizes={n_sizes} gives subset sizes {sizes}; the "
                         "regression needs at least 3 distinct sizes")
    dist = pairwise_distances(x)
    lengths = []
    for size in sizes:
        draws = 1 if size == n else repeats
        total = 0.0
        for _ in range(draws):
            idx = np.arange(n) if size == n else rng.choice(n, size=size, replace=False)
            total += mst_length(dist[np.ix_(idx, idx)], alpha)
        lengths.append(total / draws)
    if min(lengths) <= 0.0:
        return 0.0  # every subset is one point repeated: dimension 0
    slope = float(np.polyfit(np.log(sizes), np.log(lengths), 1)[0])
    return alpha / (1.0 - slope) if slope < 1.0 else math.inf
