"""The oracle of one trial on one dataset: probe settings chosen on train, accuracy on test.

The separation is structural: :func:`choose_settings` receives the train split only, and
:func:`evaluate_features` hands the test split to nothing but the final accuracy count.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from sweeper.oracle.knn import knn_accuracies
from sweeper.oracle.probe import LinearProbe
from sweeper.oracle.splits import check_labels, validation_split

__all__ = ["OracleResult", "OracleSettings", "ProbeChoice", "choose_settings",
           "evaluate_features"]

Split = tuple[np.ndarray, np.ndarray]


@dataclass(frozen=True)
class OracleSettings:
    """How the oracle chooses its own settings; the values live in ``conf/compare.yaml``.

    Attributes:
        weight_decays: the linear probe's L2 grid.
        knn_ks: the kNN neighbour counts.
        val_fraction: share of train (per class) held out to choose among them.
        seed: seed of that held-out split.
        max_iter: L-BFGS iterations of each probe fit.
        device: torch device, or None for CUDA when available.
    """

    weight_decays: tuple[float, ...]
    knn_ks: tuple[int, ...]
    val_fraction: float
    seed: int
    max_iter: int
    device: str | None

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any]) -> OracleSettings:
        """Build from the ``compare.probe`` mapping (keys as the attributes)."""
        allowed = set(cls.__dataclass_fields__)
        unknown = set(cfg) - allowed
        if unknown:
            raise ValueError(f"unknown probe setting(s) {sorted(unknown)}; allowed: "
                             f"{sorted(allowed)}")
        missing = allowed - set(cfg)
        if missing:
            raise ValueError(f"probe setting(s) {sorted(missing)} missing; conf/compare.yaml "
                             "lists every key")
        wds = tuple(float(w) for w in cfg["weight_decays"])
        ks = tuple(int(k) for k in cfg["knn_ks"])
        if not wds or min(wds) < 0:
            raise ValueError(f"probe.weight_decays must be a non-empty list of values >= 0, "
                             f"got {list(wds)}")
        if not ks or min(ks) < 1:
            raise ValueError(f"probe.knn_ks must be a non-empty list of integers >= 1, "
                             f"got {list(ks)}")
        if not 0.0 < float(cfg["val_fraction"]) < 1.0:
            raise ValueError(f"probe.val_fraction must be in (0, 1), got {cfg['val_fraction']}")
        return cls(weight_decays=wds, knn_ks=ks, val_fraction=float(cfg["val_fraction"]),
                   seed=int(cfg["seed"]), max_iter=int(cfg["max_iter"]),
                   device=cfg["device"])


@dataclass(frozen=True)
class ProbeChoice:
    """What the validation split chose, and the validation accuracies it chose by."""

    weight_decay: float
    val_acc: float
    knn_k: int
    knn_val_acc: float
    val_acc_by_weight_decay: dict[float, float]
    knn_val_acc_by_k: dict[int, float]


@dataclass(frozen=True)
class OracleResult:
    """One trial's oracle on one dataset. Accuracies are fractions in [0, 1]."""

    val_acc: float
    test_acc: float
    weight_decay: float
    knn_val_acc: float
    knn_test_acc: float
    knn_k: int
    n_train: int
    n_val: int
    n_test: int
    n_classes: int

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict."""
        return asdict(self)


def _best(scores: Mapping[Any, float], prefer: Sequence[Any]) -> Any:
    """Highest score; ties go to the earliest entry of ``prefer``."""
    top = max(scores.values())
    return next(key for key in prefer if scores[key] == top)


def choose_settings(train: Split, settings: OracleSettings) -> ProbeChoice:
    """Choose the probe's weight decay and the kNN's k on a validation split of ``train``.

    Ties prefer the strongest weight decay (the simplest model) and the largest k.
    """
    return _choose(train, settings)[0]


def _choose(train: Split, settings: OracleSettings) -> tuple[ProbeChoice, LinearProbe]:
    """:func:`choose_settings`, and the probe it chose (fit on the fit part of ``train``).

    The weight-decay path runs from strong to weak decay, each fit warm-started from the
    previous solution (the objective is convex: the start changes the iterations, not the
    optimum).
    """
    x, y = train[0], check_labels(train[1], "train")
    fit_idx, val_idx = validation_split(y, settings.val_fraction, settings.seed)
    x_fit, y_fit, x_val, y_val = x[fit_idx], y[fit_idx], x[val_idx], y[val_idx]
    by_wd: dict[float, float] = {}
    probes: dict[float, LinearProbe] = {}
    probe: LinearProbe | None = None
    strongest_first = sorted(set(settings.weight_decays), reverse=True)
    for wd in strongest_first:
        probe = LinearProbe(wd, settings.max_iter, device=settings.device).fit(
            x_fit, y_fit, init=probe)
        by_wd[wd], probes[wd] = probe.accuracy(x_val, y_val), probe
    by_k = knn_accuracies(x_fit, y_fit, x_val, y_val, settings.knn_ks, device=settings.device)
    best_wd = _best(by_wd, strongest_first)
    best_k = _best(by_k, sorted(by_k, reverse=True))
    return ProbeChoice(weight_decay=best_wd, val_acc=by_wd[best_wd], knn_k=best_k,
                       knn_val_acc=by_k[best_k], val_acc_by_weight_decay=by_wd,
                       knn_val_acc_by_k=by_k), probes[best_wd]


def evaluate_features(train: Split, test: Split, settings: OracleSettings) -> OracleResult:
    """Linear-probe and kNN accuracy of frozen features, the way the paper's oracle scores.

    1. :func:`choose_settings` on ``train`` alone (a stratified validation split of it).
    2. Refit the probe with the chosen weight decay on all of ``train``, warm-started from
       its fit on the fit part; kNN references all of ``train`` with the chosen k.
    3. Count correct predictions on ``test``: the only use of the test split.

    Args:
        train: ``(features N x K, labels N)`` of the labelled train split.
        test: the same for the test split.
        settings: the grids and the validation split's fraction and seed.

    Raises:
        ValueError: for missing labels, a single class, or mismatched feature widths.
    """
    if train[0].ndim != 2 or test[0].ndim != 2 or train[0].shape[1] != test[0].shape[1]:
        raise ValueError(f"train and test features must be N x K with the same K, got "
                         f"{train[0].shape} and {test[0].shape}")
    for name, (x_split, _) in (("train", train), ("test", test)):
        if not np.all(np.isfinite(x_split)):
            raise ValueError(f"the {name} features hold NaN or Inf (a diverged run?); a probe "
                             "on them means nothing")
    choice, chosen = _choose(train, settings)
    x, y = train[0], check_labels(train[1], "train")
    x_test, y_test = test[0], check_labels(test[1], "test")
    probe = LinearProbe(choice.weight_decay, settings.max_iter, device=settings.device).fit(
        x, y, init=chosen)
    knn = knn_accuracies(x, y, x_test, y_test, [choice.knn_k], device=settings.device)
    n_val = validation_split(y, settings.val_fraction, settings.seed)[1].size
    return OracleResult(
        val_acc=choice.val_acc, test_acc=probe.accuracy(x_test, y_test),
        weight_decay=choice.weight_decay, knn_val_acc=choice.knn_val_acc,
        knn_test_acc=knn[choice.knn_k], knn_k=choice.knn_k, n_train=int(y.size),
        n_val=int(n_val), n_test=int(y_test.size), n_classes=int(np.unique(y).size))
