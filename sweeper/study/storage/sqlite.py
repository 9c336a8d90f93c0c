"""SQLite, the embedded default: one file that several worker processes share.

It gets WAL journaling, a long busy timeout and ``BEGIN IMMEDIATE`` transactions: a deferred
transaction that reads and then writes can fail at once with "database is locked" when
another process wrote in between (SQLite does not wait in that case), an immediate one takes
the write lock up front and waits for it. The slot lock is a file lock beside the database.
"""

from __future__ import annotations

import contextlib
import fcntl
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import sqlalchemy
from sqlalchemy.engine import make_url

from sweeper.study.optuna_adapter import rdb_engine
from sweeper.study.storage.rdb import DatabaseStorage
from sweeper.study.storage.url import mask_url

__all__ = ["SQLITE_BUSY_TIMEOUT_S", "SQLiteStorage"]

SQLITE_BUSY_TIMEOUT_S = 120.0


class SQLiteStorage(DatabaseStorage):
    """An SQLite file (or memory) made safe for several worker processes.

    Example:
        >>> SQLiteStorage.check_url("sqlite:///study.db", Path("/runs"))
        'sqlite:////runs/study.db'
    """

    example: ClassVar[str] = "sqlite:////abs/path/study.db (or sqlite:///relative/study.db)"

    def __init__(self, url: str, *, heartbeat_s: int, max_retries: int,
                 max_connections: int | None = None,
                 application: str = "rankme-sweeper") -> None:
        path = self.database_file(url)
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                with sqlite3.connect(path, timeout=SQLITE_BUSY_TIMEOUT_S) as conn:
                    conn.execute("PRAGMA journal_mode=WAL")  # persistent: stored in the file
            except (OSError, sqlite3.Error) as err:
                raise ValueError(f"cannot open storage {mask_url(url)!r}: {err}") from None
        super().__init__(url, heartbeat_s=heartbeat_s, max_retries=max_retries,
                         max_connections=max_connections, application=application)
        self._harden()

    @classmethod
    def check_url(cls, url: str, base: Path | None) -> str:
        """``sqlite:///relative.db`` made absolute, so that every worker finds the same file."""
        database = make_url(url).database
        if base is None or database in (None, "", ":memory:") or Path(database).is_absolute():
            return url
        return make_url(url).set(database=str((base / database).resolve())).render_as_string(
            hide_password=False)

    @classmethod
    def database_file(cls, url: str) -> Path | None:
        database = make_url(url).database
        return None if database in (None, "", ":memory:") else Path(str(database))

    @classmethod
    def one_process(cls, url: str) -> bool:
        return cls.database_file(url) is None

    def _engine_kwargs(self, max_connections: int | None, application: str) -> dict[str, Any]:
        return {"connect_args": {"timeout": SQLITE_BUSY_TIMEOUT_S}}

    def _harden(self) -> None:
        """Immediate transactions and a busy timeout on every new connection of the engine."""
        engine = rdb_engine(self)
        engine.dispose()  # drop pooled connections made before the listeners exist

        @sqlalchemy.event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            # Let SQLAlchemy's "begin" event below issue BEGIN itself.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute(f"PRAGMA busy_timeout = {int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
            # With WAL, NORMAL never corrupts the file and loses nothing when a process dies
            # (only a power cut can drop the last commits); it saves an fsync per commit.
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.close()

        @sqlalchemy.event.listens_for(engine, "begin")
        def _on_begin(connection: Any) -> None:
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    def __setstate__(self, state: dict[Any, Any]) -> None:
        super().__setstate__(state)  # a new engine, without the listeners
        self._harden()

    @contextlib.contextmanager
    def slot_lock(self, study_name: str) -> Iterator[None]:
        path = self.database_file(self.url)
        if path is None:  # in memory: one process, nothing to share
            yield
            return
        with open(Path(str(path) + ".lock"), "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
