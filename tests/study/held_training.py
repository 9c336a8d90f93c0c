"""A ``sweep.train_fn`` for the Ctrl-C test: the project's real training, held from its second
monitored epoch on (its first checkpoint written) for as long as the file named by
``$HELD_TRAINING_FILE`` exists, so that a test interrupts a trial mid-run at a known point."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from sweeper.ssl import train as ssl_train

HOLD_ENV = "HELD_TRAINING_FILE"


def train(cfg: DictConfig, run_dir: Path, on_monitor: Any = None) -> dict[str, Any]:
    def held(epoch: int, metrics: dict[str, float]) -> str | None:
        status = on_monitor(epoch, metrics) if on_monitor else None
        hold = os.environ.get(HOLD_ENV)
        while epoch >= 2 and hold and Path(hold).exists():
            time.sleep(0.1)
        return status

    return ssl_train(cfg, run_dir, held)


# how a retry continues its run dir; no check_trials hook: the test is not about checks, and
# each sweep (and status) would spend seconds on it
train.resume_overrides = ssl_train.resume_overrides  # type: ignore[attr-defined]
