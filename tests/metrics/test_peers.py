"""alpha-ReQ, NESum, stable rank, threshold rank and LiDAR against independent references."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from sweeper.metrics import (
    SpectrumAccumulator,
    alpha_req,
    lidar,
    nesum,
    rankme,
    spectral_metrics,
    stable_rank,
    threshold_rank,
)
from tests.metrics import reference as ref


@pytest.fixture(scope="module")
def embeddings() -> np.ndarray:
    rng = np.random.default_rng(10)
    low_rank = rng.standard_normal((2000, 12)) @ rng.standard_normal((12, 96))
    return (low_rank + 0.05 * rng.standard_normal((2000, 96)) + 0.3).astype(np.float32)


def test_stable_rank_matches_frobenius_over_spectral_norm(embeddings: np.ndarray) -> None:
    assert stable_rank(embeddings) == pytest.approx(ref.stable_rank(embeddings), rel=1e-9)


def test_stable_rank_of_a_built_spectrum() -> None:
    s = np.array([4.0, 2.0, 2.0, 1.0])
    z = ref.with_singular_values(50, 10, s)
    assert stable_rank(z) == pytest.approx((16 + 4 + 4 + 1) / 16, rel=1e-12)


def test_nesum_matches_covariance_eigenvalues(embeddings: np.ndarray) -> None:
    assert nesum(embeddings) == pytest.approx(ref.nesum(embeddings), rel=1e-8)


def test_nesum_of_isotropic_data_is_near_dimension() -> None:
    rng = np.random.default_rng(11)
    z = rng.standard_normal((20000, 16))
    assert 13.0 < nesum(z) <= 16.0


def test_alpha_req_matches_least_squares_reference(embeddings: np.ndarray) -> None:
    assert alpha_req(embeddings) == pytest.approx(ref.alpha_req(embeddings), rel=1e-8)


def test_alpha_req_recovers_a_known_power_law() -> None:
    lam = np.arange(1, 33, dtype=np.float64) ** -2.0
    z = ref.with_covariance_eigenvalues(4000, 32, lam)
    assert alpha_req(z) == pytest.approx(2.0, rel=1e-9)
    assert nesum(z) == pytest.approx(lam.sum(), rel=1e-9)


def test_threshold_rank_matches_numpy_matrix_rank() -> None:
    s = np.r_[np.ones(10), 1e-3 * np.ones(5), 1e-9 * np.ones(5)]
    z = ref.with_singular_values(300, 40, s).astype(np.float32)
    z64 = z.astype(np.float64)
    tol = max(z.shape) * np.finfo(np.float32).eps * np.linalg.norm(z64, 2)
    expected = np.linalg.matrix_rank(z64, tol=tol)
    assert threshold_rank(z) == expected == 15
    assert threshold_rank(z, rtol=1e-2) == 10


def test_spectral_metrics_agree_with_the_single_metric_functions(embeddings: np.ndarray) -> None:
    all_at_once = spectral_metrics(embeddings)
    assert all_at_once["rankme"] == rankme(embeddings)
    assert all_at_once["nesum"] == nesum(embeddings)
    assert all_at_once["alpha_req"] == alpha_req(embeddings)
    assert all_at_once["stable_rank"] == stable_rank(embeddings)
    assert all_at_once["threshold_rank"] == threshold_rank(embeddings)
    assert (all_at_once["n"], all_at_once["dim"]) == embeddings.shape


def test_collapsed_inputs_give_finite_or_documented_values() -> None:
    zeros = np.zeros((50, 8))
    m = spectral_metrics(zeros)
    assert m["rankme"] == 1.0
    assert m["stable_rank"] == 0.0
    assert m["nesum"] == 0.0
    assert m["threshold_rank"] == 0
    assert m["alpha_req"] == math.inf
    constant_rows = np.ones((50, 8))  # rank one, zero covariance
    assert nesum(constant_rows) == 0.0
    assert alpha_req(constant_rows) == math.inf
    assert stable_rank(constant_rows) == pytest.approx(1.0)


def _views(n: int, q: int, k: int, spread: float, seed: int = 12) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((n, 1, k))
    return centers + spread * rng.standard_normal((n, q, k))


def test_lidar_matches_reference() -> None:
    views = _views(60, 5, 16, 0.3)
    assert lidar(views) == pytest.approx(ref.lidar(views), rel=1e-8)
    assert lidar(torch.from_numpy(views).float()) == pytest.approx(
        ref.lidar(views.astype(np.float32)), rel=1e-6
    )


def test_lidar_is_high_for_separable_views_and_low_when_classes_collapse() -> None:
    k = 16
    separable = lidar(_views(200, 4, k, 0.1))
    assert separable > 0.8 * k
    rng = np.random.default_rng(13)
    one_direction = rng.standard_normal((200, 1, 1)) * rng.standard_normal((1, 1, k))
    collapsed = one_direction + 0.1 * rng.standard_normal((200, 4, k))
    assert lidar(collapsed) < 0.25 * separable


@pytest.mark.parametrize(
    ("shape", "message"),
    [((10, 16), "n images, q augmentations"), ((1, 4, 8), "at least 2 images"), ((5, 1, 8), "q=1")],
)
def test_lidar_rejects_bad_shapes(shape: tuple[int, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        lidar(np.ones(shape))


@pytest.mark.parametrize(
    ("shape", "batch"),
    [((40, 300), 16), ((100, 100), 30), ((300, 100), 64)],
    ids=["wide_rows_kept", "square", "crosses_from_rows_to_gram"],
)
def test_every_metric_matches_the_reference_whatever_the_aspect_ratio(
    shape: tuple[int, int], batch: int
) -> None:
    rng = np.random.default_rng(14)
    z = rng.standard_normal(shape) @ np.diag(np.linspace(1, 3, shape[1])) + 0.5
    acc = SpectrumAccumulator()
    for start in range(0, shape[0], batch):
        acc.update(z[start : start + batch])
    m = spectral_metrics(acc)
    assert m["rankme"] == pytest.approx(ref.rankme(z), rel=1e-9)
    assert m["nesum"] == pytest.approx(ref.nesum(z), rel=1e-9)
    assert m["alpha_req"] == pytest.approx(ref.alpha_req(z), rel=1e-9)
    assert m["stable_rank"] == pytest.approx(ref.stable_rank(z), rel=1e-9)
    np.testing.assert_allclose(acc.gram().numpy(), z.T @ z, rtol=1e-10, atol=1e-9)
    np.testing.assert_allclose(acc.mean().numpy(), z.mean(axis=0), rtol=1e-12)
