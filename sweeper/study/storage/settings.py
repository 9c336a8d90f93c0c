"""``sweep.storage`` with the settings that go with it, parsed once, and the one way to open it.

:class:`StorageSettings` holds the URL's scheme, the URL with its password held apart (never
in a message, a repr or a file the project writes), the heartbeat, the retries and the
storage proxy; :func:`open_storage` opens the backend its scheme names (:data:`BACKENDS`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from omegaconf import MISSING
from sqlalchemy.engine import make_url

from sweeper.schema import int_at_least
from sweeper.study.storage.base import StudyStorage
from sweeper.study.storage.proxy import ProxyStorage
from sweeper.study.storage.rdb import DatabaseStorage, PostgresStorage
from sweeper.study.storage.sqlite import SQLiteStorage
from sweeper.study.storage.url import join_password, mask_url, split_password

__all__ = ["BACKENDS", "PASSWORD_ENV", "SUPPORTED_URLS", "ProxySchema", "StorageSettings",
           "open_storage"]

# Each scheme's backend; SQLAlchemy names the scheme (``postgresql+psycopg`` is postgresql).
BACKENDS: dict[str, type[StudyStorage]] = {
    "sqlite": SQLiteStorage, "postgresql": PostgresStorage, "mysql": DatabaseStorage,
    "grpc": ProxyStorage}
SUPPORTED_URLS = {scheme: backend.example for scheme, backend in BACKENDS.items()}
PASSWORD_ENV = "RANKME_SWEEPER_STORAGE_PASSWORD"  # where workers read the password from


@dataclass
class ProxySchema:
    """``sweep.storage_proxy``: a gRPC storage proxy in front of ``sweep.storage``."""

    enabled: bool = MISSING
    host: str | None = MISSING  # what workers connect to; null: chosen by the launcher
    port: int = MISSING  # 0: any free port
    max_connections: int = MISSING


@dataclass(frozen=True)
class StorageSettings:
    """A checked ``sweep.storage`` with ``sweep.heartbeat_s``, ``sweep.max_retries`` and
    ``sweep.storage_proxy``; build it with :meth:`parse`.

    Example:
        >>> s = StorageSettings.parse("postgresql+psycopg://me:secret@db:5432/runs",
        ...                           heartbeat_s=60, max_retries=1)
        >>> s.scheme, s.masked
        ('postgresql', 'postgresql+psycopg://me:***@db:5432/runs')
    """

    scheme: str  # a key of BACKENDS
    address: str  # the URL without its password
    heartbeat_s: int
    max_retries: int
    proxy: ProxySchema | None = None  # None: workers open the storage themselves
    password: str | None = field(default=None, repr=False)

    @classmethod
    def parse(cls, url: str, *, heartbeat_s: int, max_retries: int,
              proxy: ProxySchema | None = None, base: Path | None = None) -> StorageSettings:
        """Checks the settings; with ``base``, a relative SQLite path is made absolute from
        there (else it stays as written: the current directory's).

        Raises:
            ValueError: naming the bad key, its value (password masked) and what is allowed.
        """
        heartbeat_s = int_at_least("sweep.heartbeat_s", heartbeat_s, 2, " seconds")
        max_retries = int_at_least("sweep.max_retries", max_retries, 0)
        supported = "; ".join(SUPPORTED_URLS.values())
        try:
            parsed = make_url(url)
        except Exception:
            raise ValueError(f"sweep.storage {mask_url(url)!r} is not a database URL; "
                             f"supported: {supported}") from None
        scheme = parsed.get_backend_name()
        if scheme not in BACKENDS:
            raise ValueError(f"sweep.storage {mask_url(url)!r}: unsupported scheme "
                             f"{parsed.drivername!r}; supported: {supported}")
        url = BACKENDS[scheme].check_url(url, None if base is None else base.resolve())
        address, password = split_password(url)
        settings = cls(scheme=scheme, address=address, heartbeat_s=heartbeat_s,
                       max_retries=max_retries, password=password)
        return settings if proxy is None else settings._with_proxy(proxy)

    def _with_proxy(self, proxy: ProxySchema) -> StorageSettings:
        if not proxy.enabled:
            return self
        if not 0 <= proxy.port <= 65535:
            raise ValueError(f"sweep.storage_proxy.port must be 0 (any free port) to 65535, "
                             f"got {proxy.port}")
        int_at_least("sweep.storage_proxy.max_connections", proxy.max_connections, 1)
        if proxy.host is not None and not proxy.host.strip():
            raise ValueError("sweep.storage_proxy.host must be a host name or address, or null")
        if self.backend is ProxyStorage:
            raise ValueError(f"sweep.storage_proxy.enabled=true with sweep.storage="
                             f"{self.masked!r}, already a proxy: give the database URL, or "
                             "disable the proxy")
        if self.backend.one_process(self.url):
            raise ValueError(f"sweep.storage_proxy.enabled=true with sweep.storage="
                             f"{self.masked!r}: an in-memory database lives in one process and "
                             "the proxy is another; use a database file or server "
                             "(sqlite:////abs/study.db, postgresql+psycopg://...)")
        return dataclasses.replace(self, proxy=proxy)

    @property
    def backend(self) -> type[StudyStorage]:
        """The class that opens this storage."""
        return BACKENDS[self.scheme]

    @property
    def url(self) -> str:
        """The whole URL, password included: for the database driver alone."""
        return join_password(self.address, self.password)

    @property
    def masked(self) -> str:
        """The URL with its password as ``***``: what messages show."""
        return join_password(self.address, self.password, hide=True)

    @property
    def database_file(self) -> Path | None:
        """The file holding the database, for backends that keep one."""
        return self.backend.database_file(self.url)

    def __str__(self) -> str:
        return self.masked

    def through_proxy(self, url: str) -> StorageSettings:
        """These settings for the proxy at ``url`` (``grpc://HOST:PORT``) in front of them."""
        return dataclasses.replace(self, scheme="grpc", address=url, password=None, proxy=None)

    def for_workers(self, written: str) -> tuple[str, dict[str, str]]:
        """(the URL written into the workers' config, the environment they need for it).

        The URL holds no password: ``written`` (``sweep.storage`` before interpolation) is
        kept when it reads its password from the environment already; else the password
        moves into :data:`PASSWORD_ENV`, which local workers inherit and sbatch exports,
        and the URL reads it from there. No file the project writes holds it.
        """
        if "${oc.env:" in written or self.password is None:
            return (written if "${oc.env:" in written else self.url), {}
        token = "RANKMESWEEPERPASSWORD"
        return (join_password(self.address, token).replace(token, f"${{oc.env:{PASSWORD_ENV}}}"),
                {PASSWORD_ENV: quote(self.password, safe="")})  # the URL decodes it


def open_storage(settings: StorageSettings, *, max_connections: int | None = None,
                 application: str = "rankme-sweeper") -> StudyStorage:
    """Opens (creating tables if needed) the storage behind a study, or a proxy in front.

    Args:
        settings: the checked storage settings; heartbeats and retries of stale trials are
            configured from them (a proxy applies its own).
        max_connections: the most database connections the storage opens (server
            databases; SQLAlchemy's default pool when None).
        application: the connections' name on PostgreSQL (``pg_stat_activity``).

    Raises:
        ValueError: for an unreachable storage (the message holds the URL masked).
    """
    return settings.backend.open(settings.url, heartbeat_s=settings.heartbeat_s,
                                 max_retries=settings.max_retries,
                                 max_connections=max_connections, application=application)
