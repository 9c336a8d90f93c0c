"""IdEst (dim_MST) against data of known intrinsic dimension and an independent reference.

Tolerances come from what the estimator gives, measured over seeds 0-9 at N = 1,000 in
D = 64 (min / mean / max): uniform on a d-dimensional linear subspace (a cube, with
boundary) 1.93 / 1.96 / 2.00 (d = 2), 4.37 / 4.48 / 4.70 (d = 5), 8.08 / 8.31 / 8.77
(d = 10); uniform on a d-sphere (no boundary) 2.01 / 4.97 / 9.16 on average, within
1.97-2.05, 4.85-5.05, 8.80-9.55. MST estimators read low at high d from few points (the
log-log slope has not reached (d - 1) / d) and lower still with a boundary, so the allowed
shortfall grows with d; an overshoot is never more than 0.25.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.sparse.csgraph import minimum_spanning_tree
from scipy.spatial.distance import cdist

from sweeper.metrics.idest import idest, mst_length, pairwise_distances, subset_sizes

AMBIENT = 64
N = 1000


def on_subspace(n: int, d: int, seed: int = 0) -> np.ndarray:
    """Uniform on [-1, 1]^d, placed on a random d-dimensional linear subspace of R^64."""
    rng = np.random.default_rng(seed)
    basis, _ = np.linalg.qr(rng.normal(size=(AMBIENT, d)))
    return rng.uniform(-1.0, 1.0, size=(n, d)) @ basis.T


def on_sphere(n: int, d: int, seed: int = 0) -> np.ndarray:
    """Uniform on the unit d-sphere of R^(d+1), placed on a random subspace of R^64."""
    rng = np.random.default_rng(seed)
    g = rng.normal(size=(n, d + 1))
    g /= np.linalg.norm(g, axis=1, keepdims=True)
    basis, _ = np.linalg.qr(rng.normal(size=(AMBIENT, d + 1)))
    return g @ basis.T


def kruskal_length(points: np.ndarray, alpha: float) -> float:
    """Reference MST length: Kruskal's algorithm with union-find over every pair."""
    n = len(points)
    dist = cdist(points, points)
    parent = list(range(n))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    total, edges = 0.0, 0
    pairs = sorted((dist[a, b], a, b) for a in range(n) for b in range(a + 1, n))
    for length, i, j in pairs:
        ri, rj = root(i), root(j)
        if ri != rj:
            parent[ri] = rj
            total += length ** alpha
            edges += 1
    assert edges == n - 1
    return total


# (d, allowed shortfall below d); an estimate may exceed d by at most 0.25
SUBSPACE = [(2, 0.2), (5, 0.9), (10, 2.3)]
SPHERE = [(2, 0.15), (5, 0.4), (10, 1.6)]


@pytest.mark.parametrize(("d", "shortfall"), SUBSPACE)
def test_points_on_a_linear_subspace(d: int, shortfall: float) -> None:
    assert d - shortfall <= idest(on_subspace(N, d)) <= d + 0.25


@pytest.mark.parametrize(("d", "shortfall"), SPHERE)
def test_points_on_a_sphere(d: int, shortfall: float) -> None:
    assert d - shortfall <= idest(on_sphere(N, d)) <= d + 0.25


def test_the_estimate_orders_dimensions() -> None:
    values = [idest(on_subspace(N, d)) for d in (2, 5, 10, 20)]
    assert values == sorted(values) and values[-1] > values[-2] + 1


def test_invariant_to_rotation_translation_and_scale() -> None:
    x = on_sphere(400, 5, seed=3)
    q, _ = np.linalg.qr(np.random.default_rng(4).normal(size=(AMBIENT, AMBIENT)))
    base = idest(x, seed=7)
    assert idest(x @ q.T, seed=7) == pytest.approx(base, rel=1e-9)
    assert idest(1e3 * x + 5.0, seed=7) == pytest.approx(base, rel=1e-9)
    assert idest(1e-3 * x, seed=7) == pytest.approx(base, rel=1e-9)


def test_mst_length_matches_kruskal_and_scipy() -> None:
    rng = np.random.default_rng(1)
    pts = rng.normal(size=(60, 7))
    pts[10] = pts[3]  # a duplicate: an edge of length 0 (scipy's MST would drop it)
    for alpha in (1.0, 2.0, 0.5):
        assert mst_length(pairwise_distances(pts), alpha) == pytest.approx(
            kruskal_length(pts, alpha), rel=1e-10)
    distinct = rng.normal(size=(200, 16))
    assert mst_length(pairwise_distances(distinct)) == pytest.approx(
        float(minimum_spanning_tree(cdist(distinct, distinct)).sum()), rel=1e-10)


def test_idest_matches_a_reference_of_the_documented_estimator() -> None:
    """The documented sampling (seeded subsets, mean length per size), Kruskal's MST on
    scipy's distances, and least squares by lstsq: alpha / (1 - slope)."""
    x, seed, alpha, repeats = on_sphere(120, 3, seed=5), 11, 1.0, 3
    rng = np.random.default_rng(seed)
    sizes = subset_sizes(len(x))
    lengths = []
    for size in sizes:
        draws = [np.arange(len(x))] if size == len(x) else [
            rng.choice(len(x), size=size, replace=False) for _ in range(repeats)]
        lengths.append(np.mean([kruskal_length(x[i], alpha) for i in draws]))
    design = np.stack([np.log(sizes), np.ones(len(sizes))], axis=1)
    slope = np.linalg.lstsq(design, np.log(lengths), rcond=None)[0][0]
    assert idest(x, seed=seed, alpha=alpha, repeats=repeats) == pytest.approx(
        alpha / (1 - slope), rel=1e-9)


def test_deterministic_given_a_seed_and_torch_equals_numpy() -> None:
    x = on_subspace(300, 4, seed=2)
    assert idest(x, seed=1) == idest(x, seed=1)
    assert idest(x, seed=1) != idest(x, seed=2)
    assert idest(torch.from_numpy(x), seed=1) == idest(x, seed=1)


def test_a_pool_larger_than_max_points_is_subsampled() -> None:
    x = on_sphere(600, 2, seed=6)
    assert 1.8 <= idest(x, max_points=300) <= 2.25
    assert idest(x, max_points=300) == idest(x, max_points=300)


def test_identical_points_have_dimension_zero() -> None:
    assert idest(np.ones((80, 8))) == 0.0


def test_subset_sizes_are_log_spaced_up_to_n() -> None:
    sizes = subset_sizes(2000)
    assert sizes[0] == 200 and sizes[-1] == 2000 and len(sizes) == 10
    ratios = np.diff(np.log(sizes))
    assert np.allclose(ratios, ratios.mean(), atol=0.01)
    assert subset_sizes(50)[0] == 10  # at least 10 points in the smallest subset


@pytest.mark.parametrize(("features", "kwargs", "message"), [
    (np.full((100, 4), math.nan), {}, r"400 of 400 feature values are not finite"),
    (np.ones((49, 4)), {}, r"at least 50 feature rows, got N=49"),
    (np.ones(100), {}, r"N x K feature matrix, got shape \(100,\)"),
    (np.ones((100, 4)), {"alpha": 0.0}, r"alpha must be > 0, got 0.0"),
    (np.ones((100, 4)), {"n_sizes": 2}, r"n_sizes=2 gives subset sizes \[10, 100\]"),
    (np.ones((100, 4)), {"repeats": 0}, r"repeats=0"),
    (np.array([["a"] * 4] * 100), {}, r"real-valued features, got dtype <U1"),
])
def test_bad_input_is_one_clear_error(features: np.ndarray, kwargs: dict[str, float],
                                      message: str) -> None:
    with pytest.raises(ValueError, match=message):
        idest(features, **kwargs)  # type: ignore[arg-type]
