"""Carving a validation split out of a labelled train split, and checking labels."""

from __future__ import annotations

import numpy as np

__all__ = ["LabelError", "check_labels", "validation_split"]


class LabelError(ValueError):
    """The dataset's labels cannot train a probe: missing, not integers, or one class.

    A property of the dataset, shared by every trial: ``compare`` stops at the first one."""


def check_labels(labels: np.ndarray, split: str) -> np.ndarray:
    """Return ``labels`` as int64 after checking that they can train a classifier.

    Unlabelled data (an image folder without classes) is stored with label -1; a split whose
    labels are all negative has no labels, and a split with one class cannot be probed.

    Raises:
        LabelError: naming the split, if the labels are missing, not integers, or one class.
    """
    y = np.asarray(labels)
    if y.ndim != 1 or y.size == 0:
        raise LabelError(f"the {split!r} split has no labels (shape {y.shape}); the oracle "
                         "needs one integer class label per sample")
    if not np.issubdtype(y.dtype, np.integer):
        whole = (np.issubdtype(y.dtype, np.floating) and bool(np.all(np.isfinite(y)))
                 and bool(np.all(y == np.round(y))))
        if not whole:
            raise LabelError(f"the {split!r} split has labels of dtype {y.dtype}; the oracle "
                             "needs integer class labels")
    y = y.astype(np.int64)
    if np.all(y < 0):
        raise LabelError(f"the {split!r} split has no labels (all are {int(y[0])}, the mark of "
                         "unlabelled data): compare needs a labelled dataset for its oracle")
    if np.any(y < 0):
        raise LabelError(f"the {split!r} split mixes labelled and unlabelled samples "
                         f"({int(np.sum(y < 0))} labels < 0); give every sample a class")
    if split == "train" and np.unique(y).size < 2:
        raise LabelError(f"the {split!r} split has a single class ({int(y[0])}); a probe "
                         "needs at least 2 classes")
    return y


def validation_split(labels: np.ndarray, fraction: float,
                     seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Stratified split of train indices into (fit, validation), reproducible from ``seed``.

    Each class with ``n_c >= 2`` samples gives ``max(1, round(fraction * n_c))`` of them to
    validation (always leaving one to fit); a class with a single sample stays in fit.

    Args:
        labels: the train labels (int).
        fraction: share of each class held out, in (0, 1).
        seed: seed of the permutation; the same seed gives the same split.

    Returns:
        Sorted index arrays ``(fit_idx, val_idx)`` into ``labels``.

    Raises:
        ValueError: if ``fraction`` is outside (0, 1) or no sample could be held out.
    """
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"val_fraction must be in (0, 1), got {fraction}")
    rng = np.random.default_rng(seed)
    fit: list[np.ndarray] = []
    val: list[np.ndarray] = []
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        n_val = 0 if idx.size < 2 else min(idx.size - 1, max(1, round(fraction * idx.size)))
        val.append(idx[:n_val])
        fit.append(idx[n_val:])
    val_idx = np.sort(np.concatenate(val))
    if val_idx.size == 0:
        raise ValueError(f"no validation sample could be carved from {labels.size} train "
                         "samples: every class has a single sample")
    return np.sort(np.concatenate(fit)), val_idx
