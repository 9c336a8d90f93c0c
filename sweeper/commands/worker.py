"""``rankme-sweeper worker [overrides]``: one worker on an existing study (a Slurm job).

The worker's index (its sampler seed offset) is ``SLURM_ARRAY_TASK_ID`` or
``RANKME_WORKER_INDEX`` (0 by default). Exit codes: 0 when the study is full, 1 when the
worker stopped after failures in a row, 2 for bad input or a missing study.
"""

from __future__ import annotations

import logging

from omegaconf import DictConfig

from sweeper.runtime import worker_index
from sweeper.study.worker_job import run_config_worker

__all__ = ["run"]

log = logging.getLogger("sweeper.study")


def run(cfg: DictConfig) -> int:
    """Runs one worker until the study holds ``sweep.n_trials`` finished trials; 1 when
    it stopped after failures in a row."""
    report = run_config_worker(cfg, worker_index())
    log.info("worker done: %s", report.states)
    return 1 if report.stopped_by_errors else 0
