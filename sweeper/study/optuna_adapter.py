"""The one module that reaches past Optuna's public API, each time for a stated reason.

- :func:`rdb_engine`: an ``RDBStorage``'s SQLAlchemy engine (an attribute Optuna does not
  document). SQLite's connection set-up (busy timeout, ``BEGIN IMMEDIATE``) must be
  installed on the engine Optuna itself uses, and the slot lock's PostgreSQL advisory lock
  runs on it.
- :func:`set_finished_trial_user_attrs`: Optuna's public API refuses to change a finished
  trial (``UpdateFinishedTrialError``), and the oracle stores its results after the trials
  finished; the rows go through Optuna's own ORM model (``optuna.storages._rdb.models``),
  the table ``trial.set_user_attr`` fills.
- :func:`grpc_storage_server`: Optuna's gRPC storage proxy service on a server this project
  builds (``run_grpc_proxy_server`` blocks and builds its own, which takes no gRPC options
  and no second service: the proxy also serves heartbeats and the slot lock,
  :mod:`sweeper.study.proxy_server`).
- :class:`BaseHeartbeat` (``optuna.storages._heartbeat``): the interface Optuna's heartbeat
  functions (``fail_stale_trials``, ``Study.optimize``) look for; the proxy client
  implements it, Optuna exports it nowhere public.
- :func:`stale_trial_ids`: ``RDBStorage._get_stale_trial_ids``, the query behind
  ``fail_stale_trials``; the proxy answers it for its clients.

:func:`check_optuna` exercises both on an in-memory storage; ``tests/study/
test_optuna_adapter.py`` runs it, so an Optuna upgrade that breaks either fails there with
a message naming what changed, not somewhere inside a sweep.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from types import ModuleType
from typing import Any

import optuna
import sqlalchemy
import sqlalchemy.exc
import sqlalchemy.orm
from optuna.storages import RDBStorage

try:
    from optuna.storages._heartbeat import BaseHeartbeat
except ImportError as _err:  # re-raised by check_optuna's callers with what changed
    raise ImportError(f"Optuna {optuna.__version__} moved optuna.storages._heartbeat."
                      f"BaseHeartbeat ({_err}); update sweeper/study/optuna_adapter.py") from None
_RDB_MODELS_ERROR = ""
try:
    from optuna.storages._rdb import models as _rdb_models
except ImportError as _err:  # raised as OptunaChanged by what needs it (oracle results)
    _rdb_models, _RDB_MODELS_ERROR = None, str(_err)  # type: ignore[assignment]

__all__ = ["BaseHeartbeat", "OptunaChanged", "check_optuna", "grpc_storage_server", "rdb_engine",
           "retry_failed_trial", "set_finished_trial_user_attrs", "stale_trial_ids"]


class OptunaChanged(RuntimeError):
    """The installed Optuna no longer has what this adapter relies on."""

    def __init__(self, what: str) -> None:
        super().__init__(f"Optuna {optuna.__version__} changed {what}; update "
                         "sweeper/study/optuna_adapter.py (written against Optuna 4 and 5)")


def rdb_engine(storage: RDBStorage) -> sqlalchemy.Engine:
    """The SQLAlchemy engine ``storage`` runs its queries on.

    Raises:
        OptunaChanged: when ``RDBStorage`` no longer keeps it in ``engine``.
    """
    engine = getattr(storage, "engine", None)
    if not isinstance(engine, sqlalchemy.Engine):
        raise OptunaChanged("RDBStorage.engine (no SQLAlchemy engine there)")
    return engine


def grpc_storage_server(storage: optuna.storages.BaseStorage, threads: int) -> Any:
    """A ``grpc.Server`` serving Optuna's storage proxy API for ``storage`` (not started, no
    port yet), with ``threads`` threads and ``SO_REUSEPORT`` off (a port in use is an error,
    not a second server sharing it).

    Raises:
        OptunaChanged: when Optuna's gRPC servicer moved.
    """
    import grpc  # the grpc extra (sweep.storage_proxy): only a proxy needs it

    try:
        from optuna.storages._grpc.auto_generated import api_pb2_grpc
        from optuna.storages._grpc.servicer import OptunaStorageProxyService
    except ImportError as err:
        if "grpc" in str(err) and "optuna" not in str(err):
            raise
        raise OptunaChanged(f"optuna.storages._grpc ({err})") from None
    server = grpc.server(ThreadPoolExecutor(max_workers=threads),
                         options=[("grpc.so_reuseport", 0)])
    api_pb2_grpc.add_StorageServiceServicer_to_server(OptunaStorageProxyService(storage), server)
    return server


def stale_trial_ids(storage: RDBStorage, study_id: int) -> list[int]:
    """Ids of the study's RUNNING trials whose heartbeat is older than the grace period.

    Raises:
        OptunaChanged: when ``RDBStorage`` no longer has ``_get_stale_trial_ids``.
    """
    method = getattr(storage, "_get_stale_trial_ids", None)
    if method is None:
        raise OptunaChanged("RDBStorage._get_stale_trial_ids (gone)")
    return [int(i) for i in method(study_id)]


def retry_failed_trial(study: optuna.Study, number: int, always: bool = False) -> None:
    """Enqueues the retry of FAIL trial ``number`` as ``fail_stale_trials`` does for a stale
    one (Optuna's ``RetryHeartbeatStaleTrialCallback``: same params, ``retry_history``); the
    retry inherits the trial's user attrs, not its ``error`` and ``traceback``.

    Args:
        study: the trial's study.
        number: the failed trial.
        always: queue the retry whatever ``sweep.max_retries`` says and with or without a
            heartbeat (an interrupt is the user's doing, not the params'). False: the
            storage's own callback decides (``max_retries``), and a storage without a
            heartbeat queues nothing.

    Raises:
        OptunaChanged: when ``Study._storage`` is gone.
    """
    storage = getattr(study, "_storage", None)
    if storage is None:
        raise OptunaChanged("Study._storage (gone)")
    callback: Callable[[optuna.Study, optuna.trial.FrozenTrial], None] | None
    if always:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            callback = optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=None)
    else:
        callback = (storage.get_heartbeat_stale_trial_callback()
                    if isinstance(storage, BaseHeartbeat) else None)
    if callback is None:
        return
    failed = study.get_trials(deepcopy=True)[number]
    failed.user_attrs = {k: v for k, v in failed.user_attrs.items()
                         if k not in ("error", "traceback")}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        callback(study, failed)


def _models() -> ModuleType:
    if _rdb_models is None:
        raise OptunaChanged(f"optuna.storages._rdb.models ({_RDB_MODELS_ERROR})")
    if not hasattr(_rdb_models, "TrialUserAttributeModel"):
        raise OptunaChanged("optuna.storages._rdb.models (no TrialUserAttributeModel)")
    return _rdb_models


def set_finished_trial_user_attrs(storage: optuna.storages.BaseStorage, study_name: str,
                                  number: int, attrs: dict[str, Any]) -> None:
    """Stores user attrs on a trial, finished or not (upsert, one transaction).

    Params, values and states are not touched.

    Args:
        storage: the study's RDB storage (SQLite, PostgreSQL, MySQL).
        study_name: the study.
        number: the trial's number in the study.
        attrs: JSON-serializable values by key.

    Raises:
        ValueError: for a storage that is not an RDB storage.
        KeyError: for an unknown study or trial number.
        OptunaChanged: when Optuna's ORM no longer fits.
    """
    if not isinstance(storage, RDBStorage):
        raise ValueError(f"storing oracle results needs an RDB storage (SQLite, PostgreSQL), "
                         f"got {type(storage).__name__}")
    study_id = storage.get_study_id_from_name(study_name)
    trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, number)
    model = _models().TrialUserAttributeModel
    with sqlalchemy.orm.Session(rdb_engine(storage)) as session, session.begin():
        try:
            for key, value in attrs.items():
                row = session.query(model).filter_by(trial_id=trial_id, key=key).one_or_none()
                if row is None:
                    session.add(model(trial_id=trial_id, key=key, value_json=json.dumps(value)))
                else:
                    row.value_json = json.dumps(value)
        except (AttributeError, TypeError, sqlalchemy.exc.ArgumentError) as err:
            raise OptunaChanged(f"TrialUserAttributeModel's columns ({err})") from None


def check_optuna() -> None:
    """Runs every adapter function once on an in-memory study.

    Raises:
        OptunaChanged: naming the first thing that no longer works.
    """
    storage = RDBStorage("sqlite:///:memory:")
    with rdb_engine(storage).connect() as conn:
        conn.execute(sqlalchemy.text("SELECT 1"))
    study = optuna.create_study(storage=storage, study_name="adapter-check")
    trial = study.ask()
    study.tell(trial, 1.0)
    set_finished_trial_user_attrs(storage, "adapter-check", trial.number, {"probe": [1, 2]})
    stored = optuna.load_study(study_name="adapter-check", storage=storage).trials[0]
    if stored.user_attrs.get("probe") != [1, 2]:
        raise OptunaChanged("how a finished trial's user attrs are stored "
                            f"(wrote probe=[1, 2], read back {stored.user_attrs})")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        beating = RDBStorage("sqlite:///:memory:", heartbeat_interval=60)
    study_id = beating.create_new_study([optuna.study.StudyDirection.MINIMIZE], "stale-check")
    beating.create_new_trial(study_id)
    if stale_trial_ids(beating, study_id) != []:
        raise OptunaChanged("RDBStorage._get_stale_trial_ids (a stale trial without heartbeats)")
