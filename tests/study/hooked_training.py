"""A ``sweep.train_fn`` that declares both hooks of :mod:`sweeper.study.train_fn`: it records
the points its ``check_trials`` saw and refuses one learning rate."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

SEEN: list[tuple[str, float]] = []
REFUSED_LR = 0.9


def train(cfg: DictConfig, run_dir: Path, on_monitor: Any = None) -> dict[str, Any]:
    return {"status": "completed", "rankme": float(cfg.optimizer.lr)}


def _check_trials(points: Iterable[tuple[str, DictConfig]]) -> None:
    for where, cfg in points:
        SEEN.append((where, float(cfg.optimizer.lr)))
        if float(cfg.optimizer.lr) == REFUSED_LR:
            raise ValueError(f"the training config{where} fails: lr {REFUSED_LR} refused")


train.check_trials = _check_trials  # type: ignore[attr-defined]
train.resume_overrides = {"seed": 7}  # type: ignore[attr-defined]
