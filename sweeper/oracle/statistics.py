"""Rank correlations between a label-free metric and accuracy, with bootstrap intervals."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from scipy import stats

__all__ = ["rank_correlation"]


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def _spearman_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Spearman's rho of each row pair: Pearson's r of average ranks (NaN for a constant row)."""
    rx = stats.rankdata(x, axis=1)
    ry = stats.rankdata(y, axis=1)
    rx -= rx.mean(1, keepdims=True)
    ry -= ry.mean(1, keepdims=True)
    den = np.sqrt((rx * rx).sum(1) * (ry * ry).sum(1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, (rx * ry).sum(1) / np.where(den > 0, den, 1.0), np.nan)


def _interval(values: np.ndarray) -> list[float] | None:
    # scipy's own percentile interval is NaN as soon as one resample has a constant side; it
    # is taken over the defined resamples instead (the same interval when all are defined).
    ok = values[np.isfinite(values)]
    # fewer than half the resamples defined: too few distinct trials for an interval
    if ok.size < max(2, values.size // 2):
        return None
    lo, hi = np.percentile(ok, [2.5, 97.5])
    return [float(lo), float(hi)]


def rank_correlation(metric: Sequence[float], accuracy: Sequence[float],
                     n_boot: int = 1000, seed: int = 0) -> dict[str, Any]:
    """Kendall's tau-b and Spearman's rho of ``metric`` against ``accuracy``, with intervals.

    The 95% intervals are percentile bootstraps (Efron, 1979; ``scipy.stats.bootstrap``,
    paired, seeded): the trials are resampled with replacement ``n_boot`` times, the
    statistic recomputed on each resample, and the 2.5th and 97.5th percentiles of the
    defined values taken. Resamples where either side is constant have no rank correlation
    and are skipped; with fewer than half defined, the interval is ``None``. Fewer than 3
    trials, or a constant side, give ``None`` everywhere.

    Returns:
        ``{"n", "kendall_tau", "kendall_p", "kendall_ci95", "spearman_rho", "spearman_p",
        "spearman_ci95"}``; a statistic that is undefined (constant input) is ``None``.
    """
    x = np.asarray(metric, dtype=np.float64)
    y = np.asarray(accuracy, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"metric and accuracy must be 1-D of equal length, got {x.shape} "
                         f"and {y.shape}")
    out: dict[str, Any] = {"n": int(x.size), "kendall_tau": None, "kendall_p": None,
                           "kendall_ci95": None, "spearman_rho": None, "spearman_p": None,
                           "spearman_ci95": None}
    if x.size < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return out
    tau = stats.kendalltau(x, y)
    rho = stats.spearmanr(x, y)
    out.update(kendall_tau=_finite(tau.statistic), kendall_p=_finite(tau.pvalue),
               spearman_rho=_finite(rho.statistic), spearman_p=_finite(rho.pvalue))
    out["spearman_ci95"] = _interval(_bootstrap(x, y, _spearman_rows, n_boot, seed))
    out["kendall_ci95"] = _interval(_bootstrap(x, y, _kendall_rows, n_boot, seed))
    return out


def _kendall_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Kendall's tau-b of each row pair (NaN for a constant row); scipy's kendalltau takes
    one pair at a time."""
    return np.array([stats.kendalltau(a, b).statistic for a, b in zip(x, y, strict=True)])


def _bootstrap(x: np.ndarray, y: np.ndarray,
               rows: Callable[[np.ndarray, np.ndarray], np.ndarray], n_boot: int,
               seed: int) -> np.ndarray:
    """The statistic on ``n_boot`` paired resamples of the trials (the same ones per seed)."""

    def statistic(a: np.ndarray, b: np.ndarray, axis: int = -1) -> np.ndarray:
        shape = a.shape[:-1]
        return rows(a.reshape(-1, a.shape[-1]), b.reshape(-1, b.shape[-1])).reshape(shape)

    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        warnings.simplefilter("ignore", stats.DegenerateDataWarning)
        warnings.simplefilter("ignore", stats.ConstantInputWarning)
        # random_state: scipy < 1.15 (the pinned floor is 1.11) has no rng= yet
        result = stats.bootstrap((x, y), statistic, n_resamples=n_boot, paired=True,
                                 vectorized=True, method="percentile",
                                 random_state=np.random.default_rng(seed))
    return np.asarray(result.bootstrap_distribution, dtype=np.float64)
