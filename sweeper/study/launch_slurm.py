"""Slurm launcher: ``sweep.workers`` jobs through submitit, each one worker on the storage.

Parameters come from ``conf/launcher/slurm.yaml`` (partition, time, GPUs, CPUs, memory,
extra sbatch parameters, requeue signal). Each job records its ``SLURM_JOB_ID`` on the trials
it runs; a requeued job continues its trial (:mod:`sweeper.study.requeue`).
"""

from __future__ import annotations

import time
from typing import Any

import optuna
import submitit
from rich.console import Console
from rich.live import Live

from sweeper.study.launch_shape import LaunchShape
from sweeper.study.plan import SweepPlan
from sweeper.study.settings import SlurmLauncher
from sweeper.study.status import sweep_progress
from sweeper.study.worker_job import WorkerJob

__all__ = ["launch_slurm"]


def _executor(plan: SweepPlan, launcher: SlurmLauncher, shape: LaunchShape) -> Any:
    executor = submitit.AutoExecutor(folder=launcher.folder, cluster="slurm",
                                     slurm_max_num_timeout=launcher.max_num_timeout)
    params: dict[str, Any] = {
        "name": f"rankme-{plan.settings.study_name}",
        "timeout_min": launcher.time_min,
        "cpus_per_task": launcher.cpus_per_task,
        "mem_gb": launcher.mem_gb,
        "slurm_additional_parameters": dict(launcher.additional_parameters),
        "slurm_signal_delay_s": launcher.signal_delay_s,
        # one node: the ranks of a trial (devices > 1), or the workers sharing its GPU
        "nodes": 1, "tasks_per_node": shape.tasks_per_job,
    }
    if launcher.partition:
        params["slurm_partition"] = launcher.partition
    if shape.gpus_per_job > 0:
        params["gpus_per_node"] = shape.gpus_per_job
    executor.update_parameters(**params)
    return executor


def launch_slurm(plan: SweepPlan, study: optuna.Study, config: dict[str, Any],
                 launcher: SlurmLauncher, console: Console | None = None,
                 workers: int | None = None, shape: LaunchShape | None = None) -> list[int]:
    """Submits the worker jobs; waits for them when ``launcher.wait``.

    Args:
        plan: the checked plan.
        study: its study, opened (the progress is read from it while waiting).
        config: the resolved sweep config the jobs run.
        launcher: the checked ``launcher`` block (:func:`~sweeper.study.settings.read_launcher`).
        console: where progress goes.
        workers: how many workers to run; ``sweep.workers`` by default.
        shape: tasks and GPUs per job (:func:`~sweeper.study.launch_shape.launch_shape`); a
            job runs ``trials_per_gpu`` workers, so ``workers / trials_per_gpu`` jobs.

    Returns:
        One exit code per job: 0 finished, 1 failed (its error printed); all 0 when not
        waiting.
    """
    s = plan.settings
    console = console or Console(stderr=True)
    shape = shape or LaunchShape(1, 1, 1, launcher.gpus_per_node)
    executor = _executor(plan, launcher, shape)
    per_job = shape.trials_per_gpu  # worker indices job * per_job + task
    n_jobs = -(-(workers or s.workers) // per_job)
    with executor.batch():
        jobs = [executor.submit(WorkerJob(), config, i * per_job) for i in range(n_jobs)]
    console.print(f"submitted {len(jobs)} Slurm worker jobs: {', '.join(j.job_id for j in jobs)}"
                  f" (logs in {launcher.folder})")
    if not launcher.wait:
        return [0] * len(jobs)
    with Live(console=console, refresh_per_second=1) as live:
        while not all(j.done() for j in jobs):
            live.update(sweep_progress(study, plan))
            time.sleep(2.0)
        live.update(sweep_progress(study, plan))
    codes = []
    for job in jobs:
        try:
            job.result()
            codes.append(0)
        except Exception as err:
            console.print(f"Slurm job {job.job_id} failed: {str(err).strip()[-2000:]}")
            codes.append(1)
    return codes
