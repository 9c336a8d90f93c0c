"""``rankme-sweeper worker [overrides]``: one worker on an existing study (a Slurm job).

The worker's index (its sampler seed offset) is ``SLURM_ARRAY_TASK_ID`` or
``RANKME_WORKER_INDEX`` (0 by default). Exit codes: 0 when the study is full, 1 when the
worker stopped after failures in a row, 2 for bad input or a missing study.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from omegaconf import DictConfig

from sweeper.commands.hydra_app import run_app

__all__ = ["OPTIONS", "SUMMARY", "main"]

SUMMARY = "one worker pulling trials from an existing study (a Slurm job)"
OPTIONS = "the sweep's overrides, e.g. sweep.study_name=NAME sweep.storage=URL"
log = logging.getLogger("sweeper.study")


def _worker(cfg: DictConfig) -> int:
    from sweeper.runtime import worker_index
    from sweeper.study.worker_process import run_config_worker

    report = run_config_worker(cfg, worker_index())
    log.info("worker done: %s", report.states)
    return 1 if report.stopped_by_errors else 0


def main(argv: Sequence[str]) -> int:
    """Runs one worker until the study holds ``sweep.n_trials`` finished trials."""
    return run_app("worker", argv, _worker, config_name="sweep", summary=SUMMARY,
                   options=OPTIONS)
