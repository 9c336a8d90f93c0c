"""Training functions with ``sweeper.ssl.train``'s contract, for orchestration-only tests."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from omegaconf import DictConfig


def steady(cfg: DictConfig, run_dir: Path, on_monitor: Any = None) -> dict[str, Any]:
    """``max_epochs`` epochs of 0.5 s; RankMe grows with the learning rate."""
    run_dir.mkdir(parents=True, exist_ok=True)
    rankme = 1.0 + 10.0 * float(cfg.optimizer.lr)
    history = []
    for epoch in range(int(cfg.max_epochs)):
        time.sleep(0.5)
        history.append({"epoch": epoch, "rankme": rankme})
        if on_monitor is not None:
            on_monitor(epoch, {"rankme": rankme})
    result = {"status": "completed", "rankme": rankme, "history": history}
    (run_dir / "metrics.json").write_text(json.dumps(result))
    return result


def explode(cfg: DictConfig, run_dir: Path, on_monitor: Any = None) -> dict[str, Any]:
    """Always raises, like a training that hits a bug."""
    raise RuntimeError(f"boom at lr={cfg.optimizer.lr}")
