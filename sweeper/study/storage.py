"""Study storage: SQLAlchemy URLs made safe for several worker processes, with heartbeats.

SQLite (the embedded default) gets WAL journaling, a long busy timeout and ``BEGIN IMMEDIATE``
transactions: a deferred transaction that reads and then writes can fail at once with
"database is locked" when another process wrote in between (SQLite does not wait in that
case), an immediate one takes the write lock up front and waits for it. PostgreSQL
(``postgresql+psycopg://user:pass@host:5432/db``) is for clusters; ``grpc://HOST:PORT`` is a
storage proxy in front of either (:mod:`sweeper.study.proxy_server`).

Passwords never leave this module unmasked: use :func:`mask_url` / :func:`mask_secrets`.
"""

from __future__ import annotations

import sqlite3
import warnings
from pathlib import Path
from typing import Any

import optuna
import sqlalchemy
from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback
from sqlalchemy.engine import make_url

from sweeper.study.optuna_adapter import rdb_engine
from sweeper.study.proxy_client import ProxyStorage, is_proxy_url, parse_proxy_url

__all__ = ["SUPPORTED_URLS", "StudyStorage", "mask_secrets", "mask_url", "open_storage",
           "sqlite_path", "trial_id"]

# What open_storage returns: the database itself, or a storage proxy in front of it.
StudyStorage = RDBStorage | ProxyStorage

# The backends Optuna's RDB storage supports, with an example URL each (for error messages).
SUPPORTED_URLS = {
    "sqlite": "sqlite:////abs/path/study.db (or sqlite:///relative/study.db)",
    "postgresql": "postgresql+psycopg://user:pass@host:5432/db",
    "mysql": "mysql+pymysql://user:pass@host:3306/db",
    "grpc": "grpc://HOST:PORT (a storage proxy: sweep.storage_proxy)",
}
SQLITE_BUSY_TIMEOUT_S = 120.0
CONNECT_TIMEOUT_S = 10


def mask_url(url: str) -> str:
    """Returns the storage URL with its password replaced by ``***``."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL SQLAlchemy can parse: keep nothing after a scheme's '@'
        return url.split("@")[-1] if "@" in url else url


def mask_secrets(text: str, url: str) -> str:
    """Replaces every occurrence of the URL's password in ``text`` with ``***``."""
    try:
        password = make_url(url).password
    except Exception:
        return text.replace(url, mask_url(url))
    if password:
        text = text.replace(url, mask_url(url)).replace(str(password), "***")
    return text


def sqlite_path(url: str) -> Path | None:
    """The database file of an ``sqlite:///`` URL, or None for other backends / memory."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(str(parsed.database))


def _engine_kwargs(url: str, max_connections: int | None, application: str) -> dict[str, Any]:
    backend = make_url(url).get_backend_name()
    if backend == "sqlite":
        return {"connect_args": {"timeout": SQLITE_BUSY_TIMEOUT_S}}
    # A cap, not a floor: the pool holds no more than this many, waiting for a free one.
    pool = {} if max_connections is None else {"pool_size": max_connections, "max_overflow": 0}
    if backend == "postgresql":
        # pg_stat_activity names whose connections these are
        return {"connect_args": {"connect_timeout": CONNECT_TIMEOUT_S,
                                 "application_name": application}, "pool_pre_ping": True, **pool}
    return {"pool_pre_ping": True, **pool}


def _harden_sqlite(engine: sqlalchemy.Engine) -> None:
    """Immediate transactions and a busy timeout on every new connection of ``engine``."""

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


def open_storage(url: str, heartbeat_s: int, max_retries: int, *,
                 max_connections: int | None = None,
                 application: str = "rankme-sweeper") -> StudyStorage:
    """Opens (creating tables if needed) the RDB storage behind a study, or a proxy.

    Args:
        url: SQLAlchemy URL, e.g. ``sqlite:////abs/study.db`` or
            ``postgresql+psycopg://user@127.0.0.1:5432/test``; or ``grpc://HOST:PORT``, a
            running storage proxy (its own heartbeat settings apply).
        heartbeat_s: a running trial whose heartbeat is older than this many seconds is failed
            (its worker died); heartbeats are sent every ``heartbeat_s / 4`` seconds.
        max_retries: how many times such a failed trial is re-run with the same params.
        max_connections: the most database connections the storage opens (server
            databases; SQLAlchemy's default pool when None).
        application: the connections' name on PostgreSQL (``pg_stat_activity``).

    Returns:
        The storage, with heartbeats and retries of stale trials configured.

    Raises:
        ValueError: on a bad ``heartbeat_s``/``max_retries`` or an unreachable storage (the
            message holds the URL with its password masked).
    """
    if isinstance(heartbeat_s, bool) or not isinstance(heartbeat_s, int) or heartbeat_s < 2:
        raise ValueError(f"sweep.heartbeat_s must be an integer >= 2 seconds, got {heartbeat_s!r}")
    if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
        raise ValueError(f"sweep.max_retries must be an integer >= 0, got {max_retries!r}")
    if is_proxy_url(url):
        host, port = parse_proxy_url(url)
        return ProxyStorage(host=host, port=port)
    supported = "; ".join(SUPPORTED_URLS.values())
    try:
        parsed = make_url(url)
        backend = parsed.get_backend_name()
    except Exception:
        raise ValueError(f"sweep.storage {mask_url(url)!r} is not a database URL; "
                         f"supported: {supported}") from None
    if backend not in SUPPORTED_URLS or backend == "grpc":
        raise ValueError(f"sweep.storage {mask_url(url)!r}: unsupported scheme "
                         f"{parsed.drivername!r}; supported: {supported}")
    path = sqlite_path(url) if backend == "sqlite" else None
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with sqlite3.connect(path, timeout=SQLITE_BUSY_TIMEOUT_S) as conn:
                conn.execute("PRAGMA journal_mode=WAL")  # persistent: stored in the file
        except (OSError, sqlite3.Error) as err:
            raise ValueError(f"cannot open storage {mask_url(url)!r}: {err}") from None
    try:
        with warnings.catch_warnings():
            # Heartbeats are marked experimental in Optuna; they are what makes retries work.
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            retry = RetryHeartbeatStaleTrialCallback(max_retry=max_retries)
            storage = RDBStorage(
                url,
                engine_kwargs=_engine_kwargs(url, max_connections, application),
                heartbeat_interval=max(1, heartbeat_s // 4),
                grace_period=heartbeat_s,
                heartbeat_stale_trial_callback=retry,
            )
    except (sqlalchemy.exc.SQLAlchemyError, ImportError, OSError) as err:
        detail = mask_secrets(str(err).splitlines()[0] if str(err) else repr(err), url)
        raise ValueError(f"cannot reach storage {mask_url(url)!r}: {detail}") from None
    if backend == "sqlite":
        engine = rdb_engine(storage)
        engine.dispose()  # drop pooled connections made before the listeners exist
        _harden_sqlite(engine)
    return storage


def trial_id(storage: StudyStorage, study_name: str, number: int) -> int:
    """The storage's id of a study's trial number (heartbeats are recorded by id)."""
    study_id = storage.get_study_id_from_name(study_name)
    return storage.get_trial_id_from_study_id_trial_number(study_id, number)
