"""The oracle's choice of settings: train-only, reproducible, with clear label errors."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
from sklearn.datasets import load_digits

from sweeper.oracle import OracleSettings, choose_settings, evaluate_features
from sweeper.oracle.splits import check_labels, validation_split

SETTINGS = OracleSettings(weight_decays=(1e-1, 1e-3, 1e-5), knn_ks=(1, 5, 20),
                          val_fraction=0.25, seed=0, max_iter=100, device="cpu")


@pytest.fixture(scope="module")
def digits() -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    x, y = load_digits(return_X_y=True)
    x = x.astype(np.float32)
    return (x[:900], y[:900]), (x[900:1300], y[900:1300])


def test_digits_pixels_give_a_strong_probe(digits) -> None:
    result = evaluate_features(*digits, SETTINGS)
    assert 0.85 <= result.test_acc <= 1.0
    assert 0.85 <= result.knn_test_acc <= 1.0
    assert result.weight_decay in SETTINGS.weight_decays
    assert result.knn_k in SETTINGS.knn_ks
    assert (result.n_train, result.n_test, result.n_classes) == (900, 400, 10)
    assert result.n_val == validation_split(digits[0][1], 0.25, 0)[1].size


def test_the_test_split_never_chooses(digits) -> None:
    # structurally: the chooser has no parameter through which a test split could enter
    assert list(inspect.signature(choose_settings).parameters) == ["train", "settings"]
    train, (x_test, y_test) = digits
    rng = np.random.default_rng(0)
    honest = evaluate_features(train, (x_test, y_test), SETTINGS)
    # test labels scrambled and test rows replaced by noise: the choices must not move
    scrambled = evaluate_features(train, (x_test, rng.permutation(y_test)), SETTINGS)
    noise = evaluate_features(
        train, (rng.normal(size=x_test.shape).astype(np.float32), y_test), SETTINGS)
    for other in (scrambled, noise):
        assert other.weight_decay == honest.weight_decay
        assert other.knn_k == honest.knn_k
        assert other.val_acc == honest.val_acc
        assert other.knn_val_acc == honest.knn_val_acc
    assert scrambled.test_acc < honest.test_acc - 0.5


def test_choice_reads_the_validation_split_only(digits) -> None:
    (x, y), _ = digits
    choice = choose_settings((x, y), SETTINGS)
    assert choice.val_acc == max(choice.val_acc_by_weight_decay.values())
    assert choice.knn_val_acc == max(choice.knn_val_acc_by_k.values())
    assert set(choice.val_acc_by_weight_decay) == set(SETTINGS.weight_decays)
    assert choose_settings((x, y), SETTINGS) == choice


def test_validation_split_is_stratified_disjoint_and_seeded() -> None:
    y = np.repeat(np.arange(4), [10, 20, 2, 1])
    fit, val = validation_split(y, 0.3, seed=7)
    assert np.intersect1d(fit, val).size == 0
    assert np.array_equal(np.sort(np.concatenate([fit, val])), np.arange(y.size))
    assert [int(np.sum(y[val] == c)) for c in range(4)] == [3, 6, 1, 0]
    again = validation_split(y, 0.3, seed=7)
    assert np.array_equal(again[1], val)
    assert not np.array_equal(validation_split(y, 0.3, seed=8)[1], val)
    with pytest.raises(ValueError, match="val_fraction"):
        validation_split(y, 1.5, seed=0)


def test_missing_or_single_class_labels_are_named() -> None:
    with pytest.raises(ValueError, match="no labels"):
        check_labels(np.full(10, -1), "train")
    with pytest.raises(ValueError, match="single class"):
        check_labels(np.zeros(10, dtype=int), "train")
    with pytest.raises(ValueError, match="integer"):
        check_labels(np.array([0.5, 1.0]), "test")
    x = np.random.default_rng(0).normal(size=(20, 3)).astype(np.float32)
    with pytest.raises(ValueError, match="no labels"):
        evaluate_features((x, np.full(20, -1)), (x, np.full(20, -1)), SETTINGS)


def test_settings_from_config_name_bad_values() -> None:
    good = {"weight_decays": [1e-3], "knn_ks": [5], "val_fraction": 0.2, "seed": 0,
            "max_iter": 50, "device": None}
    assert OracleSettings.from_config(good).knn_ks == (5,)
    with pytest.raises(ValueError, match="knn_ks"):
        OracleSettings.from_config({**good, "knn_ks": [0]})
    with pytest.raises(ValueError, match="unknown probe setting"):
        OracleSettings.from_config({**good, "weight_decay": 1e-3})
    with pytest.raises(ValueError, match=r"\['max_iter'\] missing"):
        OracleSettings.from_config({k: v for k, v in good.items() if k != "max_iter"})


def test_non_finite_features_are_refused(digits) -> None:
    (x, y), test = digits
    bad = x.copy()
    bad[3, 5] = np.inf
    with pytest.raises(ValueError, match="NaN or Inf"):
        evaluate_features((bad, y), test, SETTINGS)
