"""The workers' side of the storage proxy: Optuna's ``GrpcStorageProxy`` with heartbeats.

Optuna's gRPC client is a plain ``BaseStorage``: ``fail_stale_trials`` skips it and it has
no ``record_heartbeat``, so through it alone a dead worker's trial would stay RUNNING for
ever. :class:`ProxyStorage` adds Optuna's heartbeat interface (``BaseHeartbeat``) on top,
answered by the proxy process (:mod:`sweeper.study.proxy_server`) from its RDB storage:
``record_heartbeat``, the stale trials, the heartbeat interval; Optuna's own
``fail_stale_trials`` and ``RetryHeartbeatStaleTrialCallback`` then work unchanged. It also
holds the study's slot lock, which elsewhere is a file lock or a PostgreSQL advisory lock on
the worker's own database connection.

A worker reaches a proxy with ``sweep.storage=grpc://HOST:PORT``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import uuid
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

import optuna
from optuna.storages import GrpcStorageProxy, RetryHeartbeatStaleTrialCallback
from optuna.trial import FrozenTrial

from sweeper.study.storage.base import StudyStorage

__all__ = ["LOCK_WAIT_S", "SERVICE", "ProxyStorage", "require_grpc"]

SERVICE = "rankme_sweeper.SweepService"  # the proxy's own gRPC service, beside Optuna's
LOCK_WAIT_S = 2.0  # how long one lock request waits on the server before it is asked again
CONNECT_TIMEOUT_S = 10.0
NEEDS_GRPC = ("the storage proxy needs grpcio and protobuf: pip install 'rankme-sweeper[grpc]' "
              "(or -e '.[grpc]' in a checkout)")


def require_grpc() -> None:
    """Raises ValueError (:data:`NEEDS_GRPC`) when grpcio is not installed."""
    if importlib.util.find_spec("grpc") is None:
        raise ValueError(NEEDS_GRPC)


def _dumps(value: Any) -> bytes:
    return json.dumps(value).encode()


def _loads(data: bytes) -> Any:
    return json.loads(data.decode())


class ProxyStorage(GrpcStorageProxy, StudyStorage):
    """Optuna's gRPC storage client with heartbeats and the slot lock of a sweeper proxy.

    Args:
        host: the proxy's host.
        port: the proxy's port.
        timeout: seconds to wait for the proxy to answer first.

    Raises:
        ValueError: when no proxy answers there in time.

    Example:
        >>> storage = ProxyStorage(host="127.0.0.1", port=13000)  # doctest: +SKIP
        >>> study = optuna.load_study(study_name="demo", storage=storage)  # doctest: +SKIP
    """

    example: ClassVar[str] = "grpc://HOST:PORT (a storage proxy: sweep.storage_proxy)"

    def __init__(self, *, host: str, port: int, timeout: float = CONNECT_TIMEOUT_S) -> None:
        require_grpc()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            super().__init__(host=host, port=port)
        try:
            self.wait_server_ready(timeout=timeout)
            self._settings = self._call("Settings", {})
        except Exception as err:
            self.close()
            raise ValueError(f"no storage proxy answers at grpc://{host}:{port} ({err}); "
                             "start it with `rankme-sweeper sweep sweep.storage_proxy.enabled="
                             "true` (it runs as long as that command) or fix the address"
                             ) from None
        self._retry = self._retry_callback()
        self._ids: dict[tuple[str | int, int], int] = {}

    @classmethod
    def address(cls, url: str) -> tuple[str, int]:
        """(host, port) of ``grpc://HOST:PORT``.

        Raises:
            ValueError: for another form, naming the value and the expected one.
        """
        parts = urlsplit(url)
        try:
            port = parts.port
        except ValueError:
            port = None
        if parts.scheme != "grpc" or not parts.hostname or port is None \
                or parts.path not in ("", "/"):
            raise ValueError(f"sweep.storage {url!r} is not a storage proxy address; expected "
                             "grpc://HOST:PORT, e.g. grpc://127.0.0.1:13000")
        return parts.hostname, port

    @classmethod
    def check_url(cls, url: str, base: Path | None) -> str:
        cls.address(url)
        return url

    @classmethod
    def open(cls, url: str, *, heartbeat_s: int, max_retries: int,
             max_connections: int | None, application: str) -> ProxyStorage:
        """Connects to a running proxy: the proxy's heartbeat settings and connections apply,
        not the ones given here."""
        host, port = cls.address(url)
        return cls(host=host, port=port)

    def _retry_callback(self) -> RetryHeartbeatStaleTrialCallback:
        # Heartbeat retries are experimental in Optuna; they are what makes retries work.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return RetryHeartbeatStaleTrialCallback(max_retry=int(self._settings["max_retries"]))

    def _call(self, method: str, request: dict[str, Any], timeout: float | None = 60.0) -> Any:
        rpc: Callable[..., Any] = self._channel.unary_unary(
            f"/{SERVICE}/{method}", request_serializer=_dumps, response_deserializer=_loads)
        return rpc(request, timeout=timeout)["r"]

    @property
    def url(self) -> str:
        """``grpc://HOST:PORT``."""
        return f"grpc://{self._host}:{self._port}"

    # A study's id and a trial number's id never change: each is one call, not one per use
    # (a worker asks for them for every heartbeat; a call is a round trip, the RDB storage's
    # own lookup is a local query).
    def get_study_id_from_name(self, study_name: str) -> int:
        key = (study_name, -1)
        if key not in self._ids:
            self._ids[key] = super().get_study_id_from_name(study_name)
        return self._ids[key]

    def get_trial_id_from_study_id_trial_number(self, study_id: int, trial_number: int) -> int:
        key = (study_id, trial_number)
        if key not in self._ids:
            self._ids[key] = super().get_trial_id_from_study_id_trial_number(
                study_id, trial_number)
        return self._ids[key]

    def delete_study(self, study_id: int) -> None:
        super().delete_study(study_id)
        self._ids = {k: v for k, v in self._ids.items() if v != study_id and k[0] != study_id}

    def record_heartbeat(self, trial_id: int) -> None:
        self._call("RecordHeartbeat", {"trial_id": trial_id})

    def _get_stale_trial_ids(self, study_id: int) -> list[int]:
        return [int(i) for i in self._call("StaleTrialIds", {"study_id": study_id})]

    def get_heartbeat_interval(self) -> int | None:
        return int(self._settings["heartbeat_interval"])

    def get_heartbeat_stale_trial_callback(
            self) -> Callable[[optuna.Study, FrozenTrial], None] | None:
        return self._retry

    @contextlib.contextmanager
    def slot_lock(self, study_name: str) -> Iterator[None]:
        """Holds the study's slot lock in the proxy for the ``with`` block (a lease the proxy
        drops on its own when this process dies holding it)."""
        owner = uuid.uuid4().hex
        request = {"name": study_name, "owner": owner, "wait_s": LOCK_WAIT_S}
        while not self._call("Lock", request, timeout=LOCK_WAIT_S + 60.0):
            pass
        try:
            yield
        finally:
            self._call("Unlock", {"name": study_name, "owner": owner})

    def __getstate__(self) -> dict[Any, Any]:
        state = super().__getstate__()
        state.pop("_retry", None)
        state["_ids"] = {}
        return state

    def __setstate__(self, state: dict[Any, Any]) -> None:
        super().__setstate__(state)
        self._retry = self._retry_callback()
