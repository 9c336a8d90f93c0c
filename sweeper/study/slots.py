"""Trial slots: how many trials a study still needs, decided under a cross-process lock.

A worker asks for a trial only while ``finished + running < n_trials``; the check and the
``ask`` happen under one lock so that parallel workers never overshoot ``n_trials``. The lock
is a file lock next to an SQLite database, a PostgreSQL advisory lock, a lease in the storage
proxy (``grpc://``), or none (other backends: workers may then overshoot by at most
``workers - 1`` trials).
"""

from __future__ import annotations

import contextlib
import fcntl
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import optuna
import sqlalchemy
from optuna.trial import TrialState

from sweeper.study.optuna_adapter import rdb_engine
from sweeper.study.proxy_client import ProxyStorage
from sweeper.study.storage import StudyStorage, sqlite_path

__all__ = ["TrialCounts", "count_trials", "slot_lock"]

PG_LOCK_TIMEOUT_S = 60


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


@contextlib.contextmanager
def slot_lock(storage: StudyStorage, url: str, study_name: str) -> Iterator[None]:
    """Holds the study's slot lock for the duration of the ``with`` block."""
    if isinstance(storage, ProxyStorage):
        with storage.slot_lock(study_name):
            yield
        return
    path = sqlite_path(url)
    engine = rdb_engine(storage)
    if path is not None:
        lock_path = Path(str(path) + ".lock")
        with open(lock_path, "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
    elif engine.dialect.name == "postgresql":
        key = zlib.crc32(f"rankme-sweeper:{study_name}".encode())
        with engine.connect() as conn:
            # A transaction-level lock in a transaction the server ends by itself when it stays
            # idle too long: a worker on a node that vanished cannot hold the lock for ever
            # (the server may not notice a dead client's TCP connection for hours).
            conn.execute(sqlalchemy.text(
                f"SET idle_in_transaction_session_timeout = {PG_LOCK_TIMEOUT_S * 1000}"))
            conn.execute(sqlalchemy.text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})
            try:
                yield
            finally:
                conn.rollback()  # releases the lock (and the SET)
    else:
        yield
