"""Trial slots: how many trials a study still needs, decided under a cross-process lock.

A worker asks for a trial only while ``finished + running < n_trials``; the check and the
``ask`` happen under one lock so that parallel workers never overshoot ``n_trials``. Each
storage backend holds its own lock (``StudyStorage.slot_lock``, :mod:`sweeper.study.storage`):
a file lock next to an SQLite database, a PostgreSQL advisory lock, a lease in the storage
proxy (``grpc://``), or none (other backends: workers may then overshoot by at most
``workers - 1`` trials).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import optuna
from optuna.trial import TrialState

__all__ = ["TrialCounts", "count_trials"]


@dataclass(frozen=True)
class TrialCounts:
    """Trials of a study by state."""

    complete: int = 0
    pruned: int = 0
    running: int = 0
    waiting: int = 0
    fail: int = 0

    @property
    def finished(self) -> int:
        """COMPLETE and PRUNED trials: the ones ``n_trials`` counts."""
        return self.complete + self.pruned


def count_trials(study: optuna.Study) -> TrialCounts:
    """Counts a study's trials by state, as the storage holds them now.

    Optuna's trial cache re-reads only the trials that were unfinished or new, so a worker
    polling under the slot lock does not reload the finished ones each time.
    """
    by_state = Counter(t.state for t in study.get_trials(deepcopy=False))
    return TrialCounts(
        complete=by_state[TrialState.COMPLETE],
        pruned=by_state[TrialState.PRUNED],
        running=by_state[TrialState.RUNNING],
        waiting=by_state[TrialState.WAITING],
        fail=by_state[TrialState.FAIL],
    )
