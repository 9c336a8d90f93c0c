"""Independent float64 numpy references of the papers' formulas, written from the papers.

They share no code with sweeper.metrics: a full SVD or eigendecomposition of the whole
matrix, the textbook way.
"""

from __future__ import annotations

import numpy as np


def singular_values(z: np.ndarray) -> np.ndarray:
    return np.linalg.svd(np.asarray(z, dtype=np.float64), compute_uv=False)


def rankme(z: np.ndarray, eps: float = 1e-7) -> float:
    s = singular_values(z)
    if s.sum() == 0:
        return 1.0
    p = s / s.sum() + eps
    return float(np.exp(-np.sum(p * np.log(p))))


def covariance_eigenvalues(z: np.ndarray) -> np.ndarray:
    zc = np.asarray(z, dtype=np.float64)
    zc = zc - zc.mean(axis=0)
    s = np.linalg.svd(zc, compute_uv=False)
    return np.sort(s**2 / (len(zc) - 1))[::-1]


def stable_rank(z: np.ndarray) -> float:
    z64 = np.asarray(z, dtype=np.float64)
    return float(np.linalg.norm(z64, "fro") ** 2 / np.linalg.norm(z64, 2) ** 2)


def nesum(z: np.ndarray) -> float:
    lam = covariance_eigenvalues(z)
    return float(lam.sum() / lam[0])


def alpha_req(z: np.ndarray, rtol: float = 1e-12) -> float:
    lam = covariance_eigenvalues(z)
    lam = lam[lam > rtol * lam[0]]
    slope, _ = np.polyfit(np.log(np.arange(1, len(lam) + 1)), np.log(lam), 1)
    return float(-slope)


def lidar(views: np.ndarray, delta: float = 1e-4, eps: float = 1e-8) -> float:
    v = np.asarray(views, dtype=np.float64)
    n, q, k = v.shape
    mu_i = v.mean(axis=1)
    mu = mu_i.mean(axis=0)
    s_b = (mu_i - mu).T @ (mu_i - mu) / (n - 1)
    dev = (v - mu_i[:, None, :]).reshape(-1, k)
    s_w = dev.T @ dev / (n * (q - 1)) + delta * np.eye(k)
    w, u = np.linalg.eigh(s_w)
    inv_sqrt = u @ np.diag(w**-0.5) @ u.T
    lam = np.clip(np.linalg.eigvalsh(inv_sqrt @ s_b @ inv_sqrt), 0, None)
    p = lam / lam.sum() + eps
    return float(np.exp(-np.sum(p * np.log(p))))


def with_singular_values(n: int, k: int, s: np.ndarray, seed: int = 0) -> np.ndarray:
    """Z = U diag(s) V^T with orthonormal U (n x r), V (k x r): its singular values are s."""
    rng = np.random.default_rng(seed)
    r = len(s)
    u, _ = np.linalg.qr(rng.standard_normal((n, r)))
    v, _ = np.linalg.qr(rng.standard_normal((k, r)))
    return (u * s) @ v.T


def effective_rank_of(s: np.ndarray, eps: float = 1e-7) -> float:
    """RankMe written directly on a chosen spectrum (the analytic value)."""
    s = np.asarray(s, dtype=np.float64)
    p = s / s.sum() + eps
    return float(np.exp(-np.sum(p * np.log(p))))


def with_covariance_eigenvalues(n: int, k: int, lam: np.ndarray, seed: int = 0) -> np.ndarray:
    """Centered Z whose sample covariance has eigenvalues exactly ``lam``.

    U is orthonormalised from centered noise, so its columns are orthogonal to the ones
    vector and Z's column means are zero.
    """
    rng = np.random.default_rng(seed)
    r = len(lam)
    g = rng.standard_normal((n, r))
    u, _ = np.linalg.qr(g - g.mean(axis=0))
    v, _ = np.linalg.qr(rng.standard_normal((k, r)))
    return (u * np.sqrt(np.asarray(lam) * (n - 1))) @ v.T
