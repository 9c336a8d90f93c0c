"""Training functions with ``sweeper.ssl.train``'s contract that do no training.

For the orchestration benchmark (``noop``) and the utilization benchmark (``sleep``): a
trial's length is read from the training config key ``max_epochs`` x ``bench_epoch_s``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

Monitor = Callable[[int, dict[str, float]], None] | None


def noop(cfg: DictConfig, run_dir: Path, on_monitor: Monitor = None) -> dict[str, Any]:
    """Returns at once; RankMe is a function of the learning rate."""
    return {"status": "completed", "rankme": float(cfg.optimizer.lr)}


def sleep(cfg: DictConfig, run_dir: Path, on_monitor: Monitor = None) -> dict[str, Any]:
    """Sleeps ``cfg.max_epochs`` epochs of ``cfg.bench_epoch_s`` seconds each."""
    for epoch in range(int(cfg.max_epochs)):
        time.sleep(float(cfg.bench_epoch_s))
        if on_monitor is not None:
            on_monitor(epoch, {"rankme": float(cfg.optimizer.lr)})
    return {"status": "completed", "rankme": float(cfg.optimizer.lr)}
