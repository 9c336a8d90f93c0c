"""One contract, every storage backend: SQLite (a file in tmp_path), PostgreSQL (the test
database, see tests/services.py) and the gRPC storage proxy (a real proxy process in front
of SQLite). Each test runs on all three through ``open_storage(settings)``."""

from __future__ import annotations

import pickle
import threading
import time
from collections.abc import Iterator

import optuna
import pytest
from optuna.storages import fail_stale_trials
from optuna.trial import TrialState

from sweeper.study.proxy_server import start_proxy
from sweeper.study.storage import (
    ProxyStorage,
    StorageSettings,
    StudyStorage,
    open_storage,
    trial_id,
)
from sweeper.study.storage.rdb import PostgresStorage
from sweeper.study.storage.sqlite import SQLiteStorage
from tests.study.conftest import sqlite_url

HEARTBEAT_S = 2  # the grace period: a trial without a heartbeat this long is stale
MAX_RETRIES = 1
BACKENDS = {"sqlite": SQLiteStorage, "postgresql": PostgresStorage, "grpc": ProxyStorage}
LOCK_PER_STUDY = {"postgresql", "grpc"}  # SQLite's file lock holds every study of the file

# Optuna: heartbeats are meant for Study.optimize; here a test plays the worker.
pytestmark = [pytest.mark.filterwarnings("ignore:Heartbeat of storage"),
              pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")]


@pytest.fixture(scope="module")
def proxy_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One proxy process for the module (its start is the slow part), in front of SQLite."""
    pytest.importorskip("grpc", reason="the storage proxy needs the [grpc] extra")
    folder = tmp_path_factory.mktemp("proxy")
    with start_proxy(sqlite_url(folder), host="127.0.0.1", port=0, heartbeat_s=HEARTBEAT_S,
                     max_retries=MAX_RETRIES, max_connections=2, threads=16,
                     log_path=folder / "proxy.log") as running:
        yield running.url


@pytest.fixture(params=list(BACKENDS))
def settings(request: pytest.FixtureRequest, tmp_path, study_name) -> StorageSettings:
    """The storage settings of one backend, for a study named ``study_name``."""
    if request.param == "sqlite":
        url = sqlite_url(tmp_path)
    elif request.param == "postgresql":
        url = request.getfixturevalue("postgres_url")  # deletes the study afterwards
    else:  # other values than the proxy's: its own settings apply, whatever a worker says
        return StorageSettings.parse(request.getfixturevalue("proxy_url"), heartbeat_s=60,
                                     max_retries=5)
    return StorageSettings.parse(url, heartbeat_s=HEARTBEAT_S, max_retries=MAX_RETRIES)


def _beat_past_grace(storage: StudyStorage, alive: optuna.Trial) -> None:
    """Keeps ``alive`` beating until every other running trial is stale."""
    deadline = time.monotonic() + HEARTBEAT_S + 2.0
    while time.monotonic() < deadline:
        storage.record_heartbeat(alive._trial_id)
        time.sleep(0.5)


def test_the_scheme_picks_the_backend(settings):
    storage = open_storage(settings)
    assert isinstance(storage, BACKENDS[settings.scheme])
    assert storage.get_heartbeat_interval() == max(1, HEARTBEAT_S // 4)


def test_create_ask_and_tell(settings, study_name):
    storage = open_storage(settings)
    study = optuna.create_study(storage=storage, study_name=study_name, direction="maximize")
    for value in (1.0, 3.0):
        trial = study.ask({"x": optuna.distributions.FloatDistribution(0, 1)})
        study.tell(trial, value)
    again = optuna.load_study(study_name=study_name, storage=open_storage(settings))
    assert [t.state for t in again.trials] == [TrialState.COMPLETE] * 2
    assert again.best_value == 3.0
    assert trial_id(storage, study_name, 1) == again.trials[1]._trial_id


def test_a_stale_trial_fails_and_is_retried_max_retries_times(settings, study_name):
    storage = open_storage(settings)
    study = optuna.create_study(storage=storage, study_name=study_name)
    x = {"x": optuna.distributions.FloatDistribution(0, 1)}
    alive, dead = study.ask(x), study.ask(x)
    storage.record_heartbeat(dead._trial_id)  # then its worker dies
    _beat_past_grace(storage, alive)
    fail_stale_trials(study)  # Optuna's own, as the workers call it
    states = {t.number: t.state for t in study.get_trials()}
    assert states[alive.number] == TrialState.RUNNING
    assert states[dead.number] == TrialState.FAIL
    retry = study.ask()  # the enqueued retry, with the dead trial's params
    assert retry.params == dead.params
    assert study.get_trials()[retry.number].system_attrs["failed_trial"] == dead.number
    storage.record_heartbeat(retry._trial_id)  # and its worker dies too
    _beat_past_grace(storage, alive)
    fail_stale_trials(study)
    trials = study.get_trials()
    assert trials[retry.number].state == TrialState.FAIL
    assert [t for t in trials if t.state == TrialState.WAITING] == []  # MAX_RETRIES=1: done


def test_the_slot_lock_excludes_another_process_storage(settings, study_name):
    first, second = open_storage(settings), open_storage(settings)
    optuna.create_study(storage=first, study_name=study_name)
    order: list[str] = []

    def take() -> None:
        with second.slot_lock(study_name):
            order.append("second")

    with first.slot_lock(study_name):
        thread = threading.Thread(target=take)
        thread.start()
        time.sleep(1.0)
        order.append("first")
    thread.join(timeout=30)
    assert order == ["first", "second"]
    with first.slot_lock(study_name):
        pass  # released
    if settings.scheme in LOCK_PER_STUDY:
        with first.slot_lock("another-study"), second.slot_lock(study_name):
            pass


def test_a_pickled_storage_still_works(settings, study_name):
    """Workers started by forkserver get the storage pickled."""
    storage = pickle.loads(pickle.dumps(open_storage(settings)))
    study = optuna.create_study(storage=storage, study_name=study_name)
    study.tell(study.ask(), 1.0)
    with storage.slot_lock(study_name):
        assert optuna.load_study(study_name=study_name, storage=storage).trials[0].value == 1.0
