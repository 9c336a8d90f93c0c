"""LiDAR: the effective rank of the linear discriminant matrix over augmented views.

Thilak et al., "LiDAR: Sensing Linear Probing Performance in Joint Embedding SSL
Architectures", ICLR 2024. Each of n images is a surrogate class whose q augmented views
are its samples. With class means ``mu_i``, grand mean ``mu`` and embedding dimension K::

    S_b = 1/(n-1)      sum_i (mu_i - mu)(mu_i - mu)^T
    S_w = 1/(n(q-1))   sum_ij (z_ij - mu_i)(z_ij - mu_i)^T + delta * I
    S   = S_w^{-1/2} S_b S_w^{-1/2}
    LiDAR = exp(-sum_k p_k log p_k),   p_k = lambda_k(S) / sum(lambda(S)) + eps
"""

from __future__ import annotations

from typing import Any

import torch

from sweeper.metrics.accumulator import DEFAULT_BATCH_ROWS, SpectrumAccumulator, as_tensor
from sweeper.metrics.spectral import effective_rank_of_spectrum

__all__ = ["LIDAR_DELTA", "LIDAR_EPS", "lidar"]

LIDAR_DELTA = 1e-4
LIDAR_EPS = 1e-8


def lidar(views: Any, delta: float = LIDAR_DELTA, eps: float = LIDAR_EPS) -> float:
    """LiDAR of embeddings of q augmentations of each of n images.

    Args:
        views: tensor or array of shape (n images, q augmentations, K).
        delta: ridge added to the within-class scatter (the paper's delta).
        eps: added to each normalised eigenvalue before the entropy (the paper's epsilon).

    Returns:
        LiDAR, between about 1 and min(n - 1, K).

    Raises:
        ValueError: on a shape other than (n >= 2, q >= 2, K >= 1) or non-finite values.

    Example:
        >>> views = torch.randn(1000, 8, 128)  # 1000 images, 8 views each
        >>> score = lidar(views)
    """
    v = as_tensor(views)
    if v.ndim != 3:
        raise ValueError(
            f"LiDAR needs views shaped (n images, q augmentations, K), got shape {tuple(v.shape)}"
        )
    n, q, k = v.shape
    if n < 2 or q < 2 or k < 1:
        raise ValueError(
            f"LiDAR needs at least 2 images, 2 augmentations each and K >= 1; got n={n}, "
            f"q={q}, K={k}"
        )
    between = SpectrumAccumulator()  # over the n class means
    within = SpectrumAccumulator()  # over the n*q deviations from their class mean
    step = max(1, DEFAULT_BATCH_ROWS // q)
    for start in range(0, n, step):
        chunk = v[start : start + step].to(torch.float64)
        means = chunk.mean(dim=1)
        between.update(means)
        within.update((chunk - means[:, None]).reshape(-1, k))
    s_w = within.gram() / (n * (q - 1))
    s_w += delta * torch.eye(k, dtype=s_w.dtype, device=s_w.device)
    w_eig, w_vec = torch.linalg.eigh(s_w)
    inv_sqrt = (w_vec * w_eig.rsqrt()) @ w_vec.T
    lda = inv_sqrt @ between.covariance() @ inv_sqrt
    # All K eigenvalues, as in the paper: the K - (n - 1) null ones each add eps.
    lam = torch.linalg.eigvalsh((lda + lda.T) / 2).clamp_min(0.0)
    return effective_rank_of_spectrum(lam, eps=eps)
