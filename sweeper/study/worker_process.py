"""Entry point of one worker process: ``python -m sweeper.study.worker_process CONFIG INDEX``.

``CONFIG`` is the resolved sweep config (absolute paths) written by the launcher. The local
launcher starts this module as a subprocess; the Slurm launcher calls :func:`worker_job`.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

__all__ = ["worker_job"]


def _threads_from_slurm() -> None:
    """torch reads OMP_NUM_THREADS when imported: on Slurm, one thread per allocated CPU."""
    cpus = os.environ.get("SLURM_CPUS_PER_TASK")
    if cpus and "OMP_NUM_THREADS" not in os.environ:
        os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = cpus


def worker_job(config: dict[str, Any] | str, worker_index: int) -> dict[str, int]:
    """Runs one worker of a sweep to the study's end.

    Args:
        config: the resolved sweep config (a dict, or a path to its yaml file).
        worker_index: the worker's index (sampler seed offset).

    Returns:
        Trial states this worker told, by name.
    """
    from sweeper.study.plan import make_plan
    from sweeper.study.trial import load_train_fn
    from sweeper.study.worker import run_worker

    cfg = OmegaConf.load(config) if isinstance(config, str) else OmegaConf.create(config)
    assert isinstance(cfg, DictConfig)
    OmegaConf.set_struct(cfg, True)
    _threads_from_slurm()
    plan = make_plan(cfg, base=Path.cwd())
    train_fn = load_train_fn(plan.settings.train_fn)  # before any trial is asked for
    report = run_worker(plan, train_fn, worker_index)
    if report.stopped_by_errors:
        raise RuntimeError(f"worker {worker_index} stopped after failures in a row: "
                           f"{report.states}")
    return report.states


def main(argv: list[str]) -> int:
    """Runs :func:`worker_job` from the command line; returns the exit code."""
    logging.basicConfig(level=logging.INFO, format="[%(asctime)s %(levelname)s] %(message)s")
    if len(argv) != 2 or not argv[1].isdigit():
        print("usage: python -m sweeper.study.worker_process CONFIG.yaml INDEX", file=sys.stderr)
        return 2
    try:
        states = worker_job(argv[0], int(argv[1]))
    except (ValueError, RuntimeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    logging.getLogger(__name__).info("worker %s done: %s", argv[1], states)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
