"""Frozen backbone features of a trial, extracted once and cached in its run dir.

Layout: ``<run_dir>/features/<dataset>/<split>.npz`` with arrays ``features`` (N x K
float32), ``labels`` (N int64) and ``spec`` (the JSON of the data block they were made
from). A cache file is reused while it is newer than the checkpoint and its ``spec``
matches; otherwise the features are extracted again with
``sweeper.ssl.features.extract_features``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from omegaconf import DictConfig, OmegaConf

from sweeper.ssl.features import extract_features

__all__ = ["cache_path", "cached_features", "save_features"]

Split = tuple[np.ndarray, np.ndarray]


def cache_path(run_dir: Path, dataset: str, split: str) -> Path:
    """Where the features of ``split`` of ``dataset`` are cached for one trial."""
    return run_dir / "features" / dataset / f"{split}.npz"


def _spec(cfg: DictConfig) -> str:
    return json.dumps(OmegaConf.to_container(cfg.data, resolve=True), sort_keys=True)


def save_features(path: Path, features: np.ndarray, labels: np.ndarray, spec: str) -> None:
    """Write one split's cache file atomically (a half-written file is never read)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, features=np.asarray(features, np.float32),
             labels=np.asarray(labels, np.int64), spec=np.array(spec))
    tmp.replace(path)


def _load(path: Path, checkpoint: Path, spec: str) -> Split | None:
    if not path.is_file() or path.stat().st_mtime < checkpoint.stat().st_mtime:
        return None
    with np.load(path) as f:
        if "spec" in f.files and str(f["spec"]) != spec:
            return None
        return f["features"], f["labels"]


def cached_features(run_dir: Path, checkpoint: Path, cfg: DictConfig, dataset: str,
                    splits: Sequence[str]) -> dict[str, Split]:
    """The features and labels of ``splits``, from the cache or extracted (then cached).

    Args:
        run_dir: the trial's run dir.
        checkpoint: the trial's checkpoint (a cache older than it is stale).
        cfg: the training config with ``data`` set to the dataset to extract.
        dataset: the name of the downstream dataset (the cache folder).
        splits: the split names to return.

    Raises:
        ValueError: when a split is not cached and its extraction fails.
    """
    spec = _spec(cfg)
    out: dict[str, Split] = {}
    missing = []
    for split in splits:
        found = _load(cache_path(run_dir, dataset, split), checkpoint, spec)
        if found is None:
            missing.append(split)
        else:
            out[split] = found
    if missing:
        extracted: dict[str, Any] = extract_features(checkpoint, cfg, splits=tuple(missing))
        for split in missing:
            if split not in extracted:
                raise ValueError(f"dataset {dataset!r} has no {split!r} split to extract "
                                 f"(got {', '.join(extracted) or 'none'})")
            x, y = extracted[split]
            save_features(cache_path(run_dir, dataset, split), x, y, spec)
            out[split] = (np.asarray(x, np.float32), np.asarray(y))
    return out
