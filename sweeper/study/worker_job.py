"""One worker of a sweep, from its config: what every kind of worker runs.

:func:`run_config_worker` is the one implementation: the ``worker`` command calls it on the
config Hydra composed, :func:`worker_job` on the resolved config (absolute paths) a launcher
wrote. The Slurm launcher submits :class:`WorkerJob` (which calls :func:`worker_job`); the
local launcher starts ``python -m sweeper.commands.worker_process CONFIG INDEX``, which
calls it too.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf
from submitit.helpers import Checkpointable, DelayedSubmission

from sweeper.runtime import setup_process
from sweeper.study.plan import make_plan
from sweeper.study.ranks import (
    TrialRanks,
    follow,
    slurm_port,
    slurm_task,
    trial_backend,
    trial_world_size,
)
from sweeper.study.train_fn import load_train_fn
from sweeper.study.worker import WorkerReport, run_worker

__all__ = ["WorkerJob", "run_config_worker", "worker_job"]

log = logging.getLogger(__name__)


def run_config_worker(cfg: DictConfig, worker_index: int, base: Path | None = None,
                      check_trials: bool = True) -> WorkerReport:
    """Runs one worker of the sweep ``cfg`` describes until the study is full.

    Args:
        cfg: a composed sweep config (``conf/sweep.yaml`` and overrides, or the resolved
            copy a launcher wrote).
        worker_index: the worker's index (sampler seed offset).
        base: folder for relative paths; the current directory by default.
        check_trials: check what every trial needs first
            (:func:`~sweeper.study.plan.check_trial_configs`); a worker that ``sweep`` started
            skips it, ``sweep`` did it.

    Returns:
        What the worker did.

    Raises:
        ValueError: for a bad config or a missing study, before any trial is asked for.
    """
    setup_process()
    plan = make_plan(cfg, base=base, check_trials=check_trials)
    train_fn = load_train_fn(plan.settings.train_fn)  # before any trial is asked for
    cfg_t = plan.train_cfg
    world, tasks = trial_world_size(cfg_t.get("devices", 1)), slurm_task()[1]
    # In a Slurm job of N tasks for N-device trials srun started the followers; elsewhere
    # this worker starts them.
    with TrialRanks(world, trial_backend(cfg_t.get("accelerator")), plan.settings.train_fn,
                    local=not (world > 1 and tasks == world)) as ranks:
        return run_worker(plan, ranks.wrap(train_fn), worker_index)


def _slurm_follower(cfg: DictConfig) -> bool:
    """Runs this Slurm task as a follower rank when its job's tasks are the ranks of
    multi-device trials and it is not task 0; returns whether it did."""
    task, tasks = slurm_task()
    world = trial_world_size(cfg.get("devices", 1))
    if task == 0 or world == 1 or tasks != world:
        return False
    setup_process()
    follow(load_train_fn(str(cfg.sweep.train_fn)), task, world, slurm_port(),
           trial_backend(cfg.get("accelerator")))
    return True


def worker_job(config: dict[str, Any] | str, worker_index: int) -> dict[str, int]:
    """Runs one worker of a sweep to the study's end (a Slurm job, a local process).

    Args:
        config: the resolved sweep config (a dict, or a path to its yaml file).
        worker_index: the worker's index (sampler seed offset).

    Returns:
        Trial states this worker told, by name.

    Raises:
        RuntimeError: when the worker stopped after failures in a row.
    """
    cfg = OmegaConf.load(config) if isinstance(config, str) else OmegaConf.create(config)
    assert isinstance(cfg, DictConfig)
    OmegaConf.set_struct(cfg, True)
    if _slurm_follower(cfg):
        return {}
    task, tasks = slurm_task()
    if tasks > 1 and trial_world_size(cfg.get("devices", 1)) == 1:
        # launcher.trials_per_gpu: the job's tasks are workers that share its GPU
        worker_index += task
    report = run_config_worker(cfg, worker_index, base=Path.cwd(), check_trials=False)
    if report.stopped_by_errors:
        raise RuntimeError(f"worker {worker_index} stopped after failures in a row: "
                           f"{report.states}")
    return dict(report.states)


class WorkerJob(Checkpointable):
    """A sweep worker as a submitit job that is requeued, not failed, at its time limit.

    Called as ``WorkerJob()(config, worker_index)``; submitit's ``checkpoint`` resubmits the
    same call, and the restarted worker continues its trial
    (:func:`~sweeper.study.requeue.own_interrupted_trial`).
    """

    def __call__(self, config: dict[str, Any] | str, worker_index: int) -> dict[str, int]:
        return worker_job(config, worker_index)

    def checkpoint(self, *args: Any, **kwargs: Any) -> DelayedSubmission:
        log.warning("Slurm job %s is requeued (time limit or preemption); its trial continues "
                    "from its last checkpoint when the job runs again",
                    os.environ.get("SLURM_JOB_ID"))
        return DelayedSubmission(self, *args, **kwargs)
