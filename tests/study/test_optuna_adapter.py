"""The one module that reaches past Optuna's public API: it works on the installed Optuna,
fails loudly when an upgrade breaks it, and nothing else in the package reaches past."""

from __future__ import annotations

import re
from pathlib import Path

import optuna
import pytest
from optuna.storages import InMemoryStorage, RDBStorage

import sweeper
from sweeper.study.optuna_adapter import (
    OptunaChanged,
    check_optuna,
    rdb_engine,
    set_finished_trial_user_attrs,
)
from sweeper.study.storage import StorageSettings, open_storage

PACKAGE = Path(sweeper.__file__).resolve().parent
# private Optuna modules, private ids of studies and trials, the storage's engine and sessions
PRIVATE = re.compile(r"optuna\.storages\._|\._study_id\b|\._trial_id\b|\._backend\b"
                     r"|(?<!sqlalchemy)\.engine\b|scoped_session")


def test_the_installed_optuna_has_what_the_adapter_uses():
    check_optuna()  # an upgrade that breaks the adapter fails here, with OptunaChanged


@pytest.mark.filterwarnings("ignore:Heartbeat of storage")
def test_finished_trials_take_user_attrs_and_keep_the_rest(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'study.db'}"
    # the hardened SQLite engine
    storage = open_storage(StorageSettings.parse(url, heartbeat_s=60, max_retries=0))
    study = optuna.create_study(storage=storage, study_name="s")
    for value in (1.0, 2.0):
        trial = study.ask({"x": optuna.distributions.FloatDistribution(0, 1)})
        study.tell(trial, value)
    set_finished_trial_user_attrs(storage, "s", 1, {"acc": 0.5, "by": {"a": [1, None]}})
    set_finished_trial_user_attrs(storage, "s", 1, {"acc": 0.75})  # an upsert
    first, second = optuna.load_study(study_name="s", storage=url).trials
    assert second.user_attrs == {"acc": 0.75, "by": {"a": [1, None]}}
    assert first.user_attrs == {}
    assert second.value == 2.0 and second.params == study.trials[1].params
    with pytest.raises(KeyError):
        set_finished_trial_user_attrs(storage, "s", 7, {"acc": 1.0})


def test_a_storage_without_a_database_is_refused():
    with pytest.raises(ValueError, match="needs an RDB storage"):
        set_finished_trial_user_attrs(InMemoryStorage(), "s", 0, {})  # type: ignore[arg-type]


def test_an_optuna_without_the_engine_attribute_fails_loudly(monkeypatch):
    storage = RDBStorage("sqlite:///:memory:")
    monkeypatch.delattr(storage, "engine")
    with pytest.raises(OptunaChanged, match=r"Optuna .* changed RDBStorage.engine .*update "
                                            r"sweeper/study/optuna_adapter.py"):
        rdb_engine(storage)


def test_an_optuna_without_its_orm_model_fails_loudly(monkeypatch):
    from optuna.storages._rdb import models

    storage = RDBStorage("sqlite:///:memory:")
    optuna.create_study(storage=storage, study_name="s").add_trial(
        optuna.trial.create_trial(value=1.0))
    monkeypatch.delattr(models, "TrialUserAttributeModel")
    with pytest.raises(OptunaChanged, match=r"changed optuna.storages._rdb.models \(no "
                                            r"TrialUserAttributeModel\)"):
        set_finished_trial_user_attrs(storage, "s", 0, {"acc": 1.0})


def test_nothing_but_the_adapter_reaches_past_optunas_public_api():
    offenders = [f"{path.relative_to(PACKAGE)}:{n}: {line.strip()}"
                 for path in sorted(PACKAGE.rglob("*.py")) if path.name != "optuna_adapter.py"
                 for n, line in enumerate(path.read_text().splitlines(), 1)
                 if PRIVATE.search(line)]
    assert not offenders, "use sweeper.study.optuna_adapter:\n" + "\n".join(offenders)
