"""Ctrl-C on a local sweep: the trials its workers were running are failed at once and queued
again, so that the next ``sweep`` continues them without waiting out a heartbeat.

A worker that stops beating is found stale only after ``sweep.heartbeat_s``; the ``sweep``
command that started local workers knows better when it stops them itself. Each trial one of
its (exited) workers was running becomes FAIL with the ``error`` user attr ``interrupted``,
and a WAITING retry with the same params is enqueued, as Optuna's heartbeat callback does
for a stale trial: the retry lists the interrupted attempt in its retry history, so it
continues that attempt's run dir from its ``last.ckpt`` (:mod:`sweeper.study.trial`). An
interrupt is the user's doing, not the params': its retry is queued whatever
``sweep.max_retries`` says (it still counts in the retry history a later stale failure
reads).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable

import optuna
from optuna.trial import TrialState

from sweeper.study.optuna_adapter import retry_failed_trial
from sweeper.study.storage import StudyStorage, trial_id
from sweeper.study.trial_runs import retry_of

__all__ = ["INTERRUPTED", "interrupted_lines", "requeue_interrupted", "worker_name"]

INTERRUPTED = "interrupted (Ctrl-C on sweep); queued again"


def worker_name(pid: int | None = None) -> str:
    """``host:pid`` of a worker process on this host (this process by default): a trial's
    ``worker`` user attr."""
    return f"{socket.gethostname()}:{os.getpid() if pid is None else pid}"


def requeue_interrupted(study: optuna.Study, storage: StudyStorage,
                        worker_pids: Iterable[int]) -> list[tuple[int, int | None]]:
    """Fails the RUNNING trials of this host's workers ``worker_pids`` (which have exited)
    and enqueues a retry of each.

    A trial belongs to a worker by its ``worker`` user attr (``host:pid``, set when the
    trial starts to run). A trial of a Slurm job is left alone: a requeued job continues it
    (:mod:`sweeper.study.requeue`).

    Returns:
        (interrupted trial, its retry's number or None when none was found) for each trial.
    """
    names = {worker_name(pid) for pid in worker_pids}
    done: list[tuple[int, int | None]] = []
    with storage.slot_lock(study.study_name):
        running = [t for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
                   if t.user_attrs.get("worker") in names and "slurm_job" not in t.user_attrs]
        for t in running:
            db_id = trial_id(storage, study.study_name, t.number)
            try:
                storage.set_trial_user_attr(db_id, "error", INTERRUPTED)
                if not storage.set_trial_state_values(db_id, state=TrialState.FAIL):
                    continue
            except optuna.exceptions.UpdateFinishedTrialError:
                continue  # it ended meanwhile (told, or failed as stale by another worker)
            retry_failed_trial(study, t.number, always=True)
            again = [r.number for r in study.get_trials(deepcopy=False)
                     if retry_of(r) == t.number]
            done.append((t.number, again[-1] if again else None))
    return done


def interrupted_lines(requeued: list[tuple[int, int | None]]) -> list[str]:
    """One console line per interrupted trial."""
    return [f"trial {number} interrupted: failed, " + (
        f"queued again as trial {again} (retry of #{number}); the next sweep runs it, from "
        "its last checkpoint when it has one" if again is not None else "not queued again")
        for number, again in requeued]
