"""Databases behind Optuna's RDB storage: any that SQLAlchemy reaches (:class:`DatabaseStorage`)
and PostgreSQL with its advisory slot lock (:class:`PostgresStorage`).

Each opens with heartbeats (a running trial whose heartbeat is older than ``heartbeat_s`` is
failed) and retries of such trials (``max_retries``), and errors carry the URL masked.
"""

from __future__ import annotations

import contextlib
import warnings
import zlib
from collections.abc import Iterator
from typing import Any, ClassVar

import optuna
import sqlalchemy
from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback

from sweeper.study.optuna_adapter import rdb_engine
from sweeper.study.storage.base import StudyStorage, no_lock
from sweeper.study.storage.url import mask_secrets, mask_url

__all__ = ["CONNECT_TIMEOUT_S", "PG_LOCK_TIMEOUT_S", "DatabaseStorage", "PostgresStorage"]

CONNECT_TIMEOUT_S = 10
PG_LOCK_TIMEOUT_S = 60


class DatabaseStorage(RDBStorage, StudyStorage):
    """Optuna's RDB storage with heartbeats and retries of stale trials; no slot lock.

    Args:
        url: a SQLAlchemy URL.
        heartbeat_s: a running trial whose heartbeat is older than this many seconds is failed
            (its worker died); heartbeats are sent every ``heartbeat_s / 4`` seconds.
        max_retries: how many times such a failed trial is re-run with the same params.
        max_connections: the most connections the storage opens (SQLAlchemy's default pool
            when None).
        application: the connections' name, where the database records one.

    Raises:
        ValueError: for an unreachable database (the message holds the URL masked).
    """

    example: ClassVar[str] = "mysql+pymysql://user:pass@host:3306/db"

    def __init__(self, url: str, *, heartbeat_s: int, max_retries: int,
                 max_connections: int | None = None,
                 application: str = "rankme-sweeper") -> None:
        try:
            with warnings.catch_warnings():
                # Heartbeats are experimental in Optuna; they are what makes retries work.
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                super().__init__(
                    url,
                    engine_kwargs=self._engine_kwargs(max_connections, application),
                    heartbeat_interval=max(1, heartbeat_s // 4),
                    grace_period=heartbeat_s,
                    heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(
                        max_retry=max_retries),
                )
        except (sqlalchemy.exc.SQLAlchemyError, ImportError, OSError) as err:
            detail = mask_secrets(str(err).splitlines()[0] if str(err) else repr(err), url)
            raise ValueError(f"cannot reach storage {mask_url(url)!r}: {detail}") from None

    @classmethod
    def open(cls, url: str, *, heartbeat_s: int, max_retries: int,
             max_connections: int | None, application: str) -> DatabaseStorage:
        return cls(url, heartbeat_s=heartbeat_s, max_retries=max_retries,
                   max_connections=max_connections, application=application)

    def _engine_kwargs(self, max_connections: int | None, application: str) -> dict[str, Any]:
        # A cap, not a floor: the pool holds no more than this many, waiting for a free one.
        pool = {} if max_connections is None else {"pool_size": max_connections,
                                                   "max_overflow": 0}
        return {"pool_pre_ping": True, **pool}

    def slot_lock(self, study_name: str) -> contextlib.AbstractContextManager[None]:
        return no_lock()


class PostgresStorage(DatabaseStorage):
    """PostgreSQL: a connect timeout, named connections, and an advisory slot lock."""

    example: ClassVar[str] = "postgresql+psycopg://user:pass@host:5432/db"

    def _engine_kwargs(self, max_connections: int | None, application: str) -> dict[str, Any]:
        kwargs = super()._engine_kwargs(max_connections, application)
        # pg_stat_activity names whose connections these are
        return {**kwargs, "connect_args": {"connect_timeout": CONNECT_TIMEOUT_S,
                                           "application_name": application}}

    @contextlib.contextmanager
    def slot_lock(self, study_name: str) -> Iterator[None]:
        key = zlib.crc32(f"rankme-sweeper:{study_name}".encode())
        with rdb_engine(self).connect() as conn:
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
