"""Label-free metrics of an N x K embedding matrix: the public, one-call API.

Each function accepts a torch tensor (any real dtype, float16/bfloat16 included, any device)
or a numpy array (in memory or memory-mapped), or a ready :class:`SpectrumAccumulator`
when the rows were streamed. ``spectral_metrics`` computes them all from one pass.
"""

from __future__ import annotations

import math
from typing import Any

from sweeper.metrics.accumulator import SpectrumAccumulator
from sweeper.metrics.spectral import (
    RANKME_EPS,
    alpha_req_of_eigenvalues,
    effective_rank_of_spectrum,
    nesum_of_eigenvalues,
    stable_rank_of_singular_values,
    threshold_rank_of_singular_values,
)

__all__ = [
    "alpha_req",
    "nesum",
    "rankme",
    "spectral_metrics",
    "stable_rank",
    "threshold_rank",
]


def _spectrum(z: Any) -> SpectrumAccumulator:
    return z if isinstance(z, SpectrumAccumulator) else SpectrumAccumulator.from_matrix(z)


def rankme(z: Any, eps: float = RANKME_EPS) -> float:
    """RankMe, the smooth effective rank of embeddings (Garrido et al., ICML 2023).

    ``p_k = s_k / sum_j s_j + eps`` over the ``min(N, K)`` singular values of Z (no
    centering), ``RankMe = exp(-sum_k p_k log p_k)``. A matrix of zeros scores 1.0.

    Args:
        z: N x K embeddings, or a SpectrumAccumulator holding them.
        eps: the paper's smoothing constant.

    Raises:
        ValueError: if z is not a 2-D matrix with N >= 2, or holds NaN/Inf.

    Example:
        >>> rankme(torch.randn(25_600, 2048))  # close to 2048 for isotropic noise
    """
    return effective_rank_of_spectrum(_spectrum(z).singular_values(), eps=eps)


def stable_rank(z: Any) -> float:
    """Stable rank ``||Z||_F^2 / ||Z||_2^2`` (uncentered). See
    :func:`~sweeper.metrics.spectral.stable_rank_of_singular_values`."""
    return stable_rank_of_singular_values(_spectrum(z).singular_values())


def threshold_rank(z: Any, rtol: float | None = None) -> int:
    """Number of singular values above ``rtol * s_1`` (default ``max(N, K) * eps(float32)``).
    See :func:`~sweeper.metrics.spectral.threshold_rank_of_singular_values`."""
    acc = _spectrum(z)
    assert acc.dim is not None
    return threshold_rank_of_singular_values(acc.singular_values(), (acc.n, acc.dim), rtol)


def nesum(z: Any) -> float:
    """NESum ``sum_k lambda_k / lambda_1`` of the covariance eigenvalues (He & Ozay, 2022)."""
    return nesum_of_eigenvalues(_spectrum(z).covariance_eigenvalues())


def alpha_req(z: Any) -> float:
    """alpha-ReQ, the power-law decay of the covariance eigenvalues (Agrawal et al., 2022).
    ``math.inf`` for a collapsed matrix. See
    :func:`~sweeper.metrics.spectral.alpha_req_of_eigenvalues`."""
    return alpha_req_of_eigenvalues(_spectrum(z).covariance_eigenvalues())


def spectral_metrics(z: Any, eps: float = RANKME_EPS) -> dict[str, float]:
    """All spectral metrics from one pass over the rows and two K x K eigensolves.

    Returns:
        ``{"rankme", "alpha_req", "nesum", "stable_rank", "threshold_rank", "n", "dim"}``;
        ``alpha_req`` is ``math.inf`` for a collapsed matrix.
    """
    acc = _spectrum(z)
    assert acc.dim is not None
    s = acc.singular_values()
    eig = acc.covariance_eigenvalues()
    return {
        "rankme": effective_rank_of_spectrum(s, eps=eps),
        "alpha_req": alpha_req_of_eigenvalues(eig),
        "nesum": nesum_of_eigenvalues(eig),
        "stable_rank": stable_rank_of_singular_values(s),
        "threshold_rank": threshold_rank_of_singular_values(s, (acc.n, acc.dim)),
        "n": acc.n,
        "dim": acc.dim,
    }


def finite_or_none(value: float) -> float | None:
    """JSON has no Infinity: non-finite metric values are written as null."""
    return value if math.isfinite(value) else None
