"""The storage proxy: one process holds the database connections, the workers talk gRPC.

Every worker otherwise holds its own connections (a pool each, plus its heartbeat thread's
queries); hundreds of workers on one PostgreSQL exhaust its connections, many on SQLite
meet "database is locked". With ``sweep.storage_proxy.enabled=true`` the ``sweep`` command
starts a proxy process (:func:`start_proxy`: ``python -m sweeper.commands.storage_proxy``,
which runs :func:`serve`) in front of ``sweep.storage`` (at most
``sweep.storage_proxy.max_connections`` connections), hands the workers
``grpc://HOST:PORT`` and stops it when it ends. The process serves Optuna's gRPC storage
proxy API and, beside it, what this project's workers need that Optuna's API lacks
(:mod:`sweeper.study.storage.proxy`): heartbeats, stale trials and the study's slot lock.

The proxy is unauthenticated (plain gRPC): whoever reaches its port can change the study.
Run it on a network only the cluster's nodes reach.
"""

from __future__ import annotations

import logging
import os
import select
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna

from sweeper.study.optuna_adapter import grpc_storage_server, rdb_engine, stale_trial_ids
from sweeper.study.storage import StorageSettings, open_storage
from sweeper.study.storage.proxy import SERVICE, _dumps, _loads, require_grpc

__all__ = ["PROXY_STORAGE_ENV", "ProxyProcess", "bind_address", "serve", "start_proxy"]

PROXY_STORAGE_ENV = "RANKME_SWEEPER_PROXY_STORAGE"  # the database URL: never on a command line
LEASE_S = 60.0  # a slot lock whose holder vanished is free again after this long
READY_TIMEOUT_S = 60.0
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


def bind_address(host: str) -> str:
    """Where the proxy listens for workers that reach it at ``host``: the loopback address
    itself, else every interface (a node's name may resolve to any of its addresses)."""
    return host if host in LOOPBACK else "0.0.0.0"


class _SlotLocks:
    """Named leases: one owner at a time; a request waits up to ``wait_s`` on the server."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._held: dict[str, tuple[str, float]] = {}

    def lock(self, name: str, owner: str, wait_s: float) -> bool:
        deadline = time.monotonic() + wait_s
        with self._cond:
            while True:
                now = time.monotonic()
                holder = self._held.get(name)
                if holder is None or holder[0] == owner or holder[1] <= now:
                    self._held[name] = (owner, now + LEASE_S)
                    return True
                if now >= deadline:
                    return False
                self._cond.wait(min(deadline, holder[1]) - now)

    def unlock(self, name: str, owner: str) -> None:
        with self._cond:
            if self._held.get(name, ("", 0.0))[0] == owner:
                del self._held[name]
                self._cond.notify_all()


def _service(storage: optuna.storages.RDBStorage, max_retries: int) -> Any:
    import grpc  # the "grpc" extra: start_proxy checked it is installed (require_grpc)

    locks = _SlotLocks()
    methods = {
        "Settings": lambda r: {"heartbeat_interval": storage.get_heartbeat_interval(),
                               "max_retries": max_retries},
        "RecordHeartbeat": lambda r: storage.record_heartbeat(int(r["trial_id"])),
        "StaleTrialIds": lambda r: stale_trial_ids(storage, int(r["study_id"])),
        "Lock": lambda r: locks.lock(str(r["name"]), str(r["owner"]), float(r["wait_s"])),
        "Unlock": lambda r: locks.unlock(str(r["name"]), str(r["owner"])),
    }

    def handler(fn: Any) -> Any:
        return grpc.unary_unary_rpc_method_handler(
            # a reply is never None: gRPC sends nothing for None
            lambda request, _context: {"r": fn(request)}, request_deserializer=_loads,
            response_serializer=_dumps)

    return grpc.method_handlers_generic_handler(
        SERVICE, {name: handler(fn) for name, fn in methods.items()})


def serve(url: str, host: str, port: int, *, heartbeat_s: int, max_retries: int,
          max_connections: int, threads: int, stop: threading.Event) -> None:
    """Serves ``url``'s storage on ``host:port`` until ``stop`` is set; prints
    ``listening PORT`` (the port bound, for ``port=0``) on stdout once it accepts calls.

    Raises:
        ValueError: for an unreachable storage or a port that cannot be bound.
    """
    settings = StorageSettings.parse(url, heartbeat_s=heartbeat_s, max_retries=max_retries)
    if settings.scheme == "grpc":
        raise ValueError(f"sweep.storage {url!r} is already a storage proxy; put the proxy in "
                         "front of the database URL")
    storage = open_storage(settings, max_connections=max_connections,
                           application="rankme-sweeper-proxy")
    assert isinstance(storage, optuna.storages.RDBStorage)
    # Optuna's cache in front of the RDB storage: finished trials are read from it once.
    server = grpc_storage_server(optuna.storages.get_storage(storage), threads)
    server.add_generic_rpc_handlers((_service(storage, max_retries),))
    try:
        bound = server.add_insecure_port(f"{host}:{port}")
    except RuntimeError as err:
        bound, detail = 0, str(err)
    else:
        detail = "gRPC could not bind it"
    if not bound:
        raise ValueError(f"sweep.storage_proxy.port {port} on {host} is in use or not "
                         f"available ({detail}); choose a free port, or 0 for any free one")
    server.start()
    print(f"listening {bound}", flush=True)
    logging.getLogger(__name__).info("storage proxy for %s on %s:%d (%d connections at most)",
                                     settings.masked, host, bound, max_connections)
    stop.wait()
    server.stop(grace=5.0).wait()
    storage.remove_session()
    rdb_engine(storage).dispose()


@dataclass
class ProxyProcess:
    """A running proxy process: ``url`` is what workers get; :meth:`stop` ends it."""

    process: subprocess.Popen[bytes]
    url: str
    log_path: Path

    def stop(self) -> None:
        """Stops the proxy (it finishes the calls in flight) and waits for it."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> ProxyProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_proxy(url: str, *, host: str, port: int, heartbeat_s: int, max_retries: int,
                max_connections: int, threads: int, log_path: Path) -> ProxyProcess:
    """Starts a proxy process in front of ``url`` and waits until it accepts calls.

    Args:
        url: the study's database URL (handed over in the environment, never in argv).
        host: the address workers reach it at (see :func:`bind_address`).
        port: the port; 0 picks a free one.
        heartbeat_s, max_retries: ``sweep.heartbeat_s``, ``sweep.max_retries``.
        max_connections: database connections the proxy opens at most.
        threads: gRPC server threads (each waiting slot-lock request holds one).
        log_path: the proxy's log (appended).

    Raises:
        ValueError: when it cannot start (unreachable storage, port in use), with its error.
    """
    require_grpc()
    env = dict(os.environ, **{PROXY_STORAGE_ENV: url})
    log_path.parent.mkdir(parents=True, exist_ok=True)
    offset = log_path.stat().st_size if log_path.exists() else 0
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "sweeper.commands.storage_proxy", bind_address(host),
             *(str(n) for n in (port, heartbeat_s, max_retries, max_connections, threads))],
            env=env, stdout=subprocess.PIPE, stderr=log,
            start_new_session=True)  # the sweep stops it after its workers, not on Ctrl-C
    assert process.stdout is not None
    line = b""
    deadline = time.monotonic() + READY_TIMEOUT_S
    while not line.endswith(b"\n") and time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 0.2)
        if ready:
            chunk = os.read(process.stdout.fileno(), 256)
            if not chunk:
                break
            line += chunk
    process.stdout.close()
    if not line.startswith(b"listening "):
        ProxyProcess(process, "", log_path).stop()
        with open(log_path, "rb") as log:
            log.seek(offset)
            errors = [s for s in log.read().decode(errors="replace").splitlines()
                      if s.startswith("error: ")]
        detail = errors[-1][len("error: "):] if errors else f"see {log_path}"
        raise ValueError(f"the storage proxy did not start: {detail}")
    return ProxyProcess(process, f"grpc://{host}:{int(line.split()[1])}", log_path)

