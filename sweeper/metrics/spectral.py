"""Label-free metrics as functions of a spectrum (float64 torch vectors, descending).

Each function states its formula and source. They take the output of
:class:`~sweeper.metrics.accumulator.SpectrumAccumulator`, so one pass over the embeddings
serves all of them.
"""

from __future__ import annotations

import math

import torch

__all__ = [
    "RANKME_EPS",
    "alpha_req_of_eigenvalues",
    "effective_rank_of_spectrum",
    "nesum_of_eigenvalues",
    "stable_rank_of_singular_values",
    "threshold_rank_of_singular_values",
]

RANKME_EPS = 1e-7


def effective_rank_of_spectrum(values: torch.Tensor, eps: float = RANKME_EPS) -> float:
    """exp of the Shannon entropy of a normalised non-negative spectrum.

    ``p_k = v_k / sum(v) + eps``, result ``exp(-sum_k p_k log p_k)`` (natural log). With the
    singular values of Z this is RankMe (Garrido et al., ICML 2023, Eq. 1, eps = 1e-7);
    with the LDA eigenvalues it is LiDAR (Thilak et al., ICLR 2024). The eps is added after
    normalising, exactly as in the paper, so the p_k need not sum to 1.

    A spectrum of zeros is a fully collapsed representation and scores 1.0 (not NaN).
    """
    total = float(values.sum())
    if total <= 0.0:
        return 1.0
    p = values / total + eps
    return math.exp(float(-(p * p.log()).sum()))


def stable_rank_of_singular_values(s: torch.Tensor) -> float:
    """``||Z||_F^2 / ||Z||_2^2 = sum_k s_k^2 / s_1^2`` (Rudelson & Vershynin, 2007).

    0.0 for a matrix of zeros.
    """
    top = float(s[0]) if s.numel() else 0.0
    if top <= 0.0:
        return 0.0
    return float((s / top).square().sum())


def threshold_rank_of_singular_values(
    s: torch.Tensor, shape: tuple[int, int], rtol: float | None = None
) -> int:
    """Number of singular values above ``rtol * s_1``: the classical numerical rank.

    The default ``rtol = max(N, K) * eps(float32)`` is numpy's ``matrix_rank`` rule for
    float32 data, the precision embeddings are produced in.
    """
    if rtol is None:
        rtol = max(shape) * float(torch.finfo(torch.float32).eps)
    top = float(s[0]) if s.numel() else 0.0
    if top <= 0.0:
        return 0
    return int((s > rtol * top).sum())


def nesum_of_eigenvalues(eig: torch.Tensor) -> float:
    """NESum: ``sum_k lambda_k / lambda_1`` over covariance eigenvalues.

    From He & Ozay, "Exploring the Gap between Collapsed & Whitened Features in
    Self-Supervised Learning" (ICML 2022). 0.0 for a constant (zero-covariance) matrix.
    """
    top = float(eig[0]) if eig.numel() else 0.0
    if top <= 0.0:
        return 0.0
    return float((eig / top).sum())


def alpha_req_of_eigenvalues(eig: torch.Tensor, rtol: float = 1e-12) -> float:
    """alpha-ReQ: the power-law decay coefficient of the covariance eigenspectrum.

    Fits ``log lambda_i = c - alpha log i`` by least squares over the eigenvalues above
    ``rtol * lambda_1`` (below that they are float64 rounding, not signal) and returns
    alpha (Agrawal et al., "alpha-ReQ: Assessing Representation Quality in Self-Supervised
    Learning by Measuring Eigenspectrum Decay", NeurIPS 2022). Larger alpha means faster
    decay, i.e. a more collapsed representation. Fewer than two such eigenvalues (a
    collapsed or 1-D representation) return ``math.inf``: the decay is unbounded.
    """
    top = float(eig[0]) if eig.numel() else 0.0
    if top <= 0.0:
        return math.inf
    kept = eig[eig > rtol * top]
    if kept.numel() < 2:
        return math.inf
    x = torch.arange(1, kept.numel() + 1, dtype=torch.float64, device=kept.device).log()
    y = kept.log()
    xc = x - x.mean()
    slope = float((xc * (y - y.mean())).sum() / xc.square().sum())
    return -slope
