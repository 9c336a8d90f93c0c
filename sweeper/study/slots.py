"""Trial slots: how many trials a study still needs, decided under a cross-process lock.

A worker asks for a trial only while ``finished + running < n_trials``; the check and the
``ask`` happen under one lock so that parallel workers never overshoot ``n_trials``. The lock
is a file lock next to an SQLite database, a PostgreSQL advisory lock, or none (other
backends: workers may then overshoot by at most ``workers - 1`` trials).
"""

from __future__ import annotations

import contextlib
import fcntl
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy
from optuna.storages import RDBStorage
from optuna.trial import TrialState

from sweeper.study.storage import sqlite_path

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


def count_trials(storage: RDBStorage, study_id: int) -> TrialCounts:
    """Counts a study's trials by state with one aggregate query."""
    query = sqlalchemy.text(
        "SELECT state, COUNT(*) FROM trials WHERE study_id = :sid GROUP BY state")
    with storage.engine.connect() as conn:
        rows = conn.execute(query, {"sid": study_id}).all()
    by_state = {str(state).split(".")[-1].upper(): int(n) for state, n in rows}
    return TrialCounts(
        complete=by_state.get(TrialState.COMPLETE.name, 0),
        pruned=by_state.get(TrialState.PRUNED.name, 0),
        running=by_state.get(TrialState.RUNNING.name, 0),
        waiting=by_state.get(TrialState.WAITING.name, 0),
        fail=by_state.get(TrialState.FAIL.name, 0),
    )


@contextlib.contextmanager
def slot_lock(storage: RDBStorage, url: str, study_name: str) -> Iterator[None]:
    """Holds the study's slot lock for the duration of the ``with`` block."""
    path = sqlite_path(url)
    backend = storage.engine.dialect.name
    if path is not None:
        lock_path = Path(str(path) + ".lock")
        with open(lock_path, "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
    elif backend == "postgresql":
        key = zlib.crc32(f"rankme-sweeper:{study_name}".encode())
        with storage.engine.connect() as conn:
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
