"""Real Optuna SQLite studies with real run dirs, for the report tests.

Each trial gets ``config.yaml`` (the composed training config), ``metrics.json`` in the
training contract's shape, a checkpoint file, and cached features in the oracle's cache
format: sklearn digits pixels plus noise whose scale varies by trial, so accuracies differ.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from omegaconf import DictConfig, OmegaConf
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState
from sklearn.datasets import load_digits

from sweeper.config import compose_config
from sweeper.oracle.feature_cache import cache_path, save_features

COMPARE_FAST = ["compare.probe.weight_decays=[1e-2,1e-4]", "compare.probe.knn_ks=[1,5]",
                "compare.probe.max_iter=60", "compare.bootstrap.n_resamples=200"]


@functools.cache
def _train_config(method: str) -> DictConfig:
    return compose_config([f"method={method}"])


def digits_features(noise: float, seed: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    x, y = load_digits(return_X_y=True)
    rng = np.random.default_rng(seed)
    x = (x / 16.0 + noise * rng.normal(size=x.shape)).astype(np.float32)
    return {"train": (x[:700], y[:700]), "test": (x[700:1000], y[700:1000])}


def add_trial(study: optuna.Study, folder: Path, method: str, noise: float,
              metrics: dict[str, Any] | None = None, state: TrialState = TrialState.COMPLETE,
              labels: bool = True, history_len: int = 3,
              params: dict[str, float] | None = None) -> int:
    """Add one trial with run dir; returns its number. ``metrics=None``: no metrics.json.

    ``params`` default to ``{"optimizer.lr": 0.1 * (number + 1)}``; a pruned run is
    ``state=TrialState.PRUNED`` with ``{"status": "pruned", ...}`` in ``metrics`` and a short
    ``history_len``."""
    number = len(study.trials)
    run_dir = folder / f"trial_{number}"
    (run_dir / "checkpoints").mkdir(parents=True)
    cfg = _train_config(method)
    OmegaConf.save(cfg, run_dir / "config.yaml")
    (run_dir / "checkpoints" / "last.ckpt").write_bytes(b"weights")
    if metrics is not None:
        full = {"status": "completed", "method": method, **metrics,
                "history": [{"epoch": e, "rankme": metrics.get("rankme", 1.0) * (e + 1)
                             / history_len} for e in range(history_len)]}
        (run_dir / "metrics.json").write_text(json.dumps(full))
        spec = json.dumps(OmegaConf.to_container(cfg.data, resolve=True), sort_keys=True)
        for split, (x, y) in digits_features(noise, seed=number).items():
            save_features(cache_path(run_dir, "digits", split), x,
                          y if labels else np.full_like(y, -1), spec)
    value = None if state != TrialState.COMPLETE else float((metrics or {}).get("rankme", 0.0))
    params = params or {"optimizer.lr": 0.1 * (number + 1)}
    study.add_trial(optuna.trial.create_trial(
        params=params, distributions={k: FloatDistribution(0.0, 10.0) for k in params},
        value=value, state=state, user_attrs={"run_dir": str(run_dir)}))
    return number


def new_study(tmp_path: Path, name: str = "s1",
              url: str | None = None) -> tuple[optuna.Study, Path, list[str]]:
    """An empty study (SQLite in its folder unless ``url``), its folder, and the compare
    overrides that name it."""
    folder = tmp_path / "sweeps" / name
    folder.mkdir(parents=True)
    url = url or f"sqlite:///{folder / 'study.db'}"
    study = optuna.create_study(study_name=name, storage=url, direction="maximize")
    return study, folder, [f"sweep.study_name={name}", f"sweep.storage={url}", *COMPARE_FAST]


def metrics_for(rankme: float, extra: Sequence[str] = ()) -> dict[str, Any]:
    out: dict[str, Any] = {"rankme": rankme, "rankme_projector": rankme / 2,
                           "alpha_req": 10.0 / rankme, "nesum": rankme / 3,
                           "stable_rank": 1.0 + rankme / 10}
    for key in extra:
        out[key] = rankme * 1.5
    return out
