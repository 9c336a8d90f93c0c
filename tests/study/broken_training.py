"""A ``sweep.train_fn`` whose training raises after it started (a bug or a lost file in a
trial that the checks before the study cannot see): the trial must FAIL with the error."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from omegaconf import DictConfig


def train(cfg: DictConfig, run_dir: Path, on_monitor: Any = None) -> dict[str, Any]:
    run_dir.mkdir(parents=True, exist_ok=True)
    raise RuntimeError(f"no_such_net: the backbone file of {cfg.backbone.name} went away")
