"""The worker loop: ask as soon as the last trial ended, heartbeat while it runs, tell.

Any number of workers (processes here, Slurm jobs elsewhere) run this loop on one storage.
Under the study's slot lock a worker fails stale trials (whose worker died: their heartbeat
is older than ``sweep.heartbeat_s``; Optuna then enqueues a retry with the same params, up
to ``sweep.max_retries``), counts trials and asks only while ``finished + running <
n_trials``. When the study is full but trials still run, it waits: a running trial may yet
fail and need its slot refilled.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import warnings
from dataclasses import dataclass, field

import optuna
from optuna.storages import fail_stale_trials
from optuna.trial import TrialState

from sweeper.study.interrupt import worker_name
from sweeper.study.plan import SweepPlan, open_study
from sweeper.study.requeue import keep_requeued_trials_alive, own_interrupted_trial, slurm_attrs
from sweeper.study.slots import count_trials
from sweeper.study.status import trial_ended_line, trial_started_line
from sweeper.study.storage import StudyStorage, open_storage, trial_id
from sweeper.study.train_fn import TrainFn
from sweeper.study.trial import ask_trial, run_trial

__all__ = ["WorkerReport", "run_worker"]

log = logging.getLogger(__name__)
# How often a worker waiting for the running trials to end reads their states (no lock).
WAIT_POLL_S = 1.0


@dataclass
class WorkerReport:
    """What one worker did."""

    states: dict[str, int] = field(default_factory=dict)
    stopped_by_errors: bool = False

    @property
    def n_trials(self) -> int:
        """Trials this worker ran."""
        return sum(self.states.values())


class _Heartbeat:
    """Records a trial's heartbeat now and then every ``interval`` seconds, in a thread."""

    def __init__(self, storage: StudyStorage, db_id: int, interval: float) -> None:
        self._storage, self._id, self._interval = storage, db_id, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, daemon=True, name="heartbeat")

    def _beat(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._storage.record_heartbeat(self._id)
            except Exception as err:  # a storage hiccup must not kill the trial
                log.warning("heartbeat of trial id %d failed: %s", self._id, err)

    def __enter__(self) -> _Heartbeat:
        self._storage.record_heartbeat(self._id)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _next_trial(study: optuna.Study, storage: StudyStorage,
                plan: SweepPlan) -> optuna.Trial | bool:
    """Asks for a trial under the slot lock: a trial, True (wait) or False (study done)."""
    s = plan.settings
    with storage.slot_lock(s.study_name), warnings.catch_warnings():
        # Optuna warns that heartbeats are meant for Study.optimize: this loop is its
        # ask/tell equivalent (stale trials failed first, a heartbeat thread per trial).
        warnings.filterwarnings("ignore", message="Heartbeat of storage")
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        keep_requeued_trials_alive(study, storage, s.study_name)  # Slurm requeued them
        fail_stale_trials(study)
        counts = count_trials(study)
        if counts.finished >= s.n_trials:
            return False
        if counts.finished + counts.running >= s.n_trials:
            return True
        # Sampled under the lock: with TPE's constant liar the next worker sees these params.
        trial = ask_trial(study, plan)
        # counted as alive from the first moment, and its worker known (a sweep stopped with
        # Ctrl-C fails and requeues its workers' trials by it)
        storage.record_heartbeat(trial_id(storage, s.study_name, trial.number))
        trial.set_user_attr("worker", worker_name())
        return trial


def _wait_for_slot(study: optuna.Study, n_trials: int, interval: float) -> None:
    """Waits while the study is full of finished and running trials: returns within
    :data:`WAIT_POLL_S` of the last running trial ending (the study is done, or a failed
    trial freed a slot), and after ``interval`` seconds at most (stale trials are failed
    under the slot lock, by the caller)."""
    deadline = time.monotonic() + interval
    while time.monotonic() < deadline:
        time.sleep(min(WAIT_POLL_S, max(0.0, deadline - time.monotonic())))
        counts = count_trials(study)
        if counts.running == 0 or counts.finished + counts.running < n_trials:
            return


def run_worker(plan: SweepPlan, train_fn: TrainFn, worker_index: int = 0,
               storage: StudyStorage | None = None) -> WorkerReport:
    """Runs trials of the plan's study until it holds ``n_trials`` finished ones.

    Args:
        plan: a checked plan whose study exists.
        train_fn: the training function (``sweeper.ssl.train`` or one with its contract).
        worker_index: this worker's index (sampler seed offset, log lines).
        storage: an opened storage to reuse.

    Returns:
        The states of the trials this worker ran. The worker stops early, with
        ``stopped_by_errors`` set, after ``max_retries + 1`` failed trials in a row (a
        training function that always raises would otherwise loop forever).
    """
    s = plan.settings
    storage = storage or open_storage(s.storage)
    study = open_study(plan, create=False, worker_index=worker_index, storage=storage)
    interval = float(storage.get_heartbeat_interval() or 1)
    report = WorkerReport()
    failures_in_row = 0
    tag = f"worker {worker_index} (pid {os.getpid()})"
    interrupted = own_interrupted_trial(study, worker_index)
    while True:
        trial: optuna.Trial | bool
        if interrupted is not None:  # this Slurm job was requeued while it ran that trial
            trial = optuna.Trial(study, trial_id(storage, s.study_name, interrupted.number))
            log.info("%s: trial %d continues after a Slurm requeue", tag, trial.number)
            interrupted = None
        else:
            trial = _next_trial(study, storage, plan)
        if trial is False:
            break
        if trial is True:
            _wait_for_slot(study, s.n_trials, interval)
            continue
        assert isinstance(trial, optuna.Trial)
        # a retry inherits its dead attempt's attrs: a job id that is no longer its own
        inherited = ({"slurm_job_id": None, "slurm_job": None}
                     if "slurm_job" in trial.user_attrs else {})
        for key, value in (slurm_attrs(worker_index) or inherited).items():
            trial.set_user_attr(key, value)
        log.info("%s: %s", tag, trial_started_line(trial.number, trial.params))
        with _Heartbeat(storage, trial_id(storage, s.study_name, trial.number), interval):
            state = run_trial(study, trial, plan, train_fn)
        log.info("%s: %s", tag, trial_ended_line(
            study.get_trials(deepcopy=False)[trial.number], s.objectives))
        report.states[state.name] = report.states.get(state.name, 0) + 1
        failures_in_row = failures_in_row + 1 if state == TrialState.FAIL else 0
        if failures_in_row > s.storage.max_retries:
            log.error("%s: %d trials failed in a row; stopping (see the trials' 'error' attr)",
                      tag, failures_in_row)
            report.stopped_by_errors = True
            break
    return report
