"""Linear probe and kNN on features with a known answer."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression

from sweeper.oracle import LinearProbe, knn_accuracies


def gaussian_clusters(n_per_class: int, n_classes: int, dim: int, spread: float,
                      seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Classes centred on scaled one-hot vectors: separable when ``spread`` is small."""
    rng = np.random.default_rng(seed)
    centres = 10.0 * np.eye(n_classes, dim)
    y = np.repeat(np.arange(n_classes), n_per_class)
    x = centres[y] + spread * rng.normal(size=(y.size, dim))
    return x.astype(np.float32), y


def test_probe_separates_separable_clusters() -> None:
    x, y = gaussian_clusters(60, 5, 16, 0.5, seed=0)
    xt, yt = gaussian_clusters(40, 5, 16, 0.5, seed=1)
    acc = LinearProbe(1e-3, device="cpu").fit(x, y).accuracy(xt, yt)
    assert acc >= 0.99


def test_probe_on_noise_is_at_chance() -> None:
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(2000, 8)).astype(np.float32), rng.integers(0, 4, 2000)
    xt, yt = rng.normal(size=(4000, 8)).astype(np.float32), rng.integers(0, 4, 4000)
    acc = LinearProbe(1e-2, device="cpu").fit(x, y).accuracy(xt, yt)
    assert abs(acc - 0.25) < 0.04


def test_probe_matches_sklearn_on_digits() -> None:
    x, y = load_digits(return_X_y=True)
    x = x.astype(np.float32)
    xtr, ytr, xte, yte = x[:1200], y[:1200], x[1200:], y[1200:]
    wd = 1e-3
    ours = LinearProbe(wd, max_iter=500, device="cpu").fit(xtr, ytr)
    mean, std = xtr.mean(0), xtr.std(0, ddof=1)
    std[std < 1e-12] = 1.0
    ref = LogisticRegression(C=1.0 / (wd * len(ytr)), max_iter=5000, tol=1e-8)
    ref.fit((xtr - mean) / std, ytr)
    ref_pred = ref.predict((xte - mean) / std)
    agree = np.mean(ours.predict(xte) == ref_pred)
    assert agree >= 0.98
    assert abs(ours.accuracy(xte, yte) - np.mean(ref_pred == yte)) <= 0.01


def test_probe_keeps_label_values_and_rejects_bad_settings() -> None:
    x, y = gaussian_clusters(30, 3, 6, 0.3, seed=0)
    labels = np.array([3, 7, 11])[y]
    probe = LinearProbe(1e-3, device="cpu").fit(x, labels)
    assert set(np.unique(probe.predict(x))) <= {3, 7, 11}
    assert probe.accuracy(x, labels) >= 0.99
    with pytest.raises(ValueError, match="weight_decay"):
        LinearProbe(-1.0)
    with pytest.raises(ValueError, match="not fit"):
        LinearProbe(1.0).predict(x)


def test_knn_on_separable_clusters_and_noise() -> None:
    x, y = gaussian_clusters(50, 4, 8, 0.5, seed=0)
    xt, yt = gaussian_clusters(30, 4, 8, 0.5, seed=1)
    accs = knn_accuracies(x, y, xt, yt, [1, 5, 20], device="cpu")
    assert set(accs) == {1, 5, 20}
    assert min(accs.values()) >= 0.99
    rng = np.random.default_rng(0)
    noise = knn_accuracies(rng.normal(size=(1000, 8)), rng.integers(0, 2, 1000),
                           rng.normal(size=(2000, 8)), rng.integers(0, 2, 2000), [25],
                           device="cpu")
    assert abs(noise[25] - 0.5) < 0.05


def test_knn_k1_is_the_nearest_cosine_neighbour() -> None:
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(40, 5)), rng.integers(0, 3, 40)
    q = rng.normal(size=(25, 5))
    unit = lambda a: a / np.linalg.norm(a, axis=1, keepdims=True)  # noqa: E731
    expected = y[np.argmax(unit(q) @ unit(x).T, axis=1)]
    acc = knn_accuracies(x, y, q, expected, [1], chunk=7, device="cpu")
    assert acc[1] == 1.0
    with pytest.raises(ValueError, match="ks"):
        knn_accuracies(x, y, q, expected, [0])
