"""The one module that reaches past Optuna's public API, each time for a stated reason.

- :func:`rdb_engine`: an ``RDBStorage``'s SQLAlchemy engine (an attribute Optuna does not
  document). SQLite's connection set-up (busy timeout, ``BEGIN IMMEDIATE``) must be
  installed on the engine Optuna itself uses, and the slot lock's PostgreSQL advisory lock
  runs on it.
- :func:`set_finished_trial_user_attrs`: Optuna's public API refuses to change a finished
  trial (``UpdateFinishedTrialError``), and the oracle stores its results after the trials
  finished; the rows go through Optuna's own ORM model (``optuna.storages._rdb.models``),
  the table ``trial.set_user_attr`` fills.

:func:`check_optuna` exercises both on an in-memory storage; ``tests/study/
test_optuna_adapter.py`` runs it, so an Optuna upgrade that breaks either fails there with
a message naming what changed, not somewhere inside a sweep.
"""

from __future__ import annotations

import json
from typing import Any

import optuna
import sqlalchemy
import sqlalchemy.exc
import sqlalchemy.orm
from optuna.storages import RDBStorage

__all__ = ["OptunaChanged", "check_optuna", "rdb_engine", "set_finished_trial_user_attrs"]


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


def _models() -> Any:
    try:
        from optuna.storages._rdb import models
    except ImportError as err:
        raise OptunaChanged(f"optuna.storages._rdb.models ({err})") from None
    if not hasattr(models, "TrialUserAttributeModel"):
        raise OptunaChanged("optuna.storages._rdb.models (no TrialUserAttributeModel)")
    return models


def set_finished_trial_user_attrs(storage: RDBStorage, study_name: str, number: int,
                                  attrs: dict[str, Any]) -> None:
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
