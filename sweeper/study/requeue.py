"""Slurm requeue and preemption: the interrupted trial continues, it is not failed and retried.

A worker job that Slurm requeues (``scontrol requeue``, a preemption with
``PreemptMode=REQUEUE``, or submitit's own requeue on the signal it gets before the time
limit) is killed and later started again with the same ``SLURM_JOB_ID`` and a higher
``SLURM_RESTART_COUNT``. Its trial stays RUNNING in the study meanwhile:

- :func:`own_interrupted_trial`: the restarted worker finds the trial it was running (same
  job id and worker index, fewer restarts recorded than it has now) and continues it, from
  its run dir's ``last.ckpt``; epochs already reported are not reported again.
- :func:`keep_requeued_trials_alive`: the other workers fail trials whose heartbeat is
  stale; before they do, a trial whose Slurm job is waiting to run again (pending, or
  restarted and not yet back on its trial) gets a heartbeat, so it is not failed and retried.
- :class:`~sweeper.study.worker_job.WorkerJob`: what the Slurm launcher submits; submitit
  calls its ``checkpoint`` on the time-limit signal (``USR2``, ``launcher.signal_delay_s``
  before the limit) and requeues the job, which then continues as above.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from sweeper.study.storage import StudyStorage, trial_id

__all__ = ["keep_requeued_trials_alive", "own_interrupted_trial", "slurm_attrs"]

log = logging.getLogger(__name__)

# Slurm job states in which a requeued job will run again (or is still running).
WAITING = frozenset({"PENDING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "CONFIGURING",
                     "COMPLETING", "SUSPENDED", "RESIZING", "SIGNALING", "STAGE_OUT"})


def _restarts() -> int:
    return int(os.environ.get("SLURM_RESTART_COUNT") or 0)


def slurm_attrs(worker_index: int) -> dict[str, Any]:
    """User attrs linking a trial to the Slurm job running it (none outside Slurm):
    ``slurm_job_id`` (``SLURM_JOB_ID``), ``slurm_job`` (the name squeue, scontrol and scancel
    give it: ``<array job>_<task>`` in an array), ``slurm_restarts``, ``worker_index``."""
    job = os.environ.get("SLURM_JOB_ID")
    if not job:
        return {}
    array, task = os.environ.get("SLURM_ARRAY_JOB_ID"), os.environ.get("SLURM_ARRAY_TASK_ID")
    return {"slurm_job_id": job, "slurm_job": f"{array}_{task}" if array and task else job,
            "slurm_restarts": _restarts(), "worker_index": worker_index}


def own_interrupted_trial(study: optuna.Study, worker_index: int) -> FrozenTrial | None:
    """The RUNNING trial this worker's Slurm job was running before it was requeued."""
    job, restarts = os.environ.get("SLURM_JOB_ID"), _restarts()
    if not job or restarts == 0:
        return None
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        a = t.user_attrs
        if (a.get("slurm_job_id") == job and a.get("worker_index") == worker_index
                and int(a.get("slurm_restarts", 0)) < restarts):
            return t
    return None


def _job_states(job_ids: set[str]) -> dict[str, tuple[str, int]]:
    """(state, restart count) of each job squeue still lists."""
    if not job_ids or shutil.which("squeue") is None:
        return {}
    try:
        out = subprocess.run(["squeue", "-h", "-j", ",".join(sorted(job_ids)),
                              "-O", "JobArrayID:40,State:30,RestartCnt:10"],
                             capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired) as err:
        log.warning("squeue failed (%s): requeued trials may be failed as stale", err)
        return {}
    states = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[2].isdigit():
            states[parts[0]] = (parts[1], int(parts[2]))
    return states


def keep_requeued_trials_alive(study: optuna.Study, storage: StudyStorage,
                               study_name: str) -> list[int]:
    """Records a heartbeat for each RUNNING trial whose Slurm job was requeued and has not
    come back to it yet; returns their numbers. Call before failing stale trials."""
    running = [t for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
               if t.user_attrs.get("slurm_job")]
    states = _job_states({str(t.user_attrs["slurm_job"]) for t in running})
    kept = []
    for t in running:
        state, restarts = states.get(str(t.user_attrs["slurm_job"]), ("", 0))
        waiting = state in WAITING
        restarted = state == "RUNNING" and restarts > int(t.user_attrs.get("slurm_restarts", 0))
        if waiting or restarted:
            storage.record_heartbeat(trial_id(storage, study_name, t.number))
            kept.append(t.number)
    return kept

