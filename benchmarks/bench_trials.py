"""The training functions the sweep benchmarks run (``bench_sweep.py``, ``sweep_crowd.py``):
no training at all, or a sleep, so that the figures are the sweep engine's."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

MIN_S, MAX_S = 0.2, 2.0


def noop(cfg: DictConfig, run_dir: Path, on_monitor: Any = None) -> dict[str, Any]:
    """A trial that does no training."""
    return {"status": "completed", "rankme": float(cfg.optimizer.lr)}


def sleep(cfg: DictConfig, run_dir: Path, on_monitor: Any = None) -> dict[str, Any]:
    """A trial of MIN_S + (MAX_S - MIN_S) * lr seconds (lr in [0, 1])."""
    time.sleep(MIN_S + (MAX_S - MIN_S) * float(cfg.optimizer.lr))
    return {"status": "completed", "rankme": float(cfg.optimizer.lr)}
