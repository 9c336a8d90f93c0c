"""The storage proxy (``sweep.storage_proxy``): real sweeps through it on PostgreSQL and
SQLite, and bad values. Heartbeats, retries and the slot lock through a real proxy process
are in the backends' contract (tests/study/storage/test_backends.py)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from optuna.trial import TrialState

from sweeper.cli import main
from sweeper.study.storage import StorageSettings, open_storage
from tests.cli import run_cli
from tests.study.conftest import CONF, load, sqlite_url
from tests.study.test_slurm import slurm  # noqa: F401  (the cluster fixture)

pytest.importorskip("grpc", reason="the storage proxy needs the [grpc] extra")


def _sweep_args(url: str, name: str, n_trials: int, workers: int) -> list[str]:
    return [f"--config-dir={CONF}", "space=test_safe", f"sweep.storage={url}",
            f"sweep.study_name={name}", f"sweep.n_trials={n_trials}", f"sweep.workers={workers}",
            "sweep.sampler.name=random", "sweep.sampler.seed=0", "sweep.pruner.name=none",
            "sweep.heartbeat_s=4", "launcher.refresh_s=0", "max_epochs=1",
            "sweep.storage_proxy.enabled=true"]


def _proxy_is_gone(url: str) -> bool:
    with pytest.raises(ValueError, match="no storage proxy answers at"):
        open_storage(StorageSettings.parse(url, heartbeat_s=4, max_retries=0))
    return True


def _worker_configs(folder: Path) -> list[str]:
    return [p.read_text() for p in folder.rglob("workers/*/config.yaml")]


def test_postgresql_sweep_through_the_proxy_keeps_the_password_out(
        tmp_path, study_name, postgres_url, monkeypatch):
    # Trust authentication ignores the password: it is there to prove it goes nowhere.
    url = postgres_url.replace("://postgres@", "://postgres:hunter2-secret@")
    done = run_cli("sweep", *_sweep_args(url, study_name, 3, 2), cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    study = load(postgres_url, study_name)  # the database itself, not the proxy
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 3
    assert len({t.user_attrs["worker"] for t in study.trials}) == 2
    configs = _worker_configs(tmp_path)
    assert configs and all("storage: grpc://127.0.0.1:" in c for c in configs)
    proxy_url = next(line.split()[-1] for line in configs[0].splitlines()
                     if line.strip().startswith("storage: grpc://"))
    assert f"storage proxy {proxy_url} in front of postgresql+psycopg://postgres:***@" \
        in done.stderr
    assert _proxy_is_gone(proxy_url)  # stopped with the command
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert "hunter2-secret" not in done.stdout + done.stderr
    assert [p for p in files if b"hunter2-secret" in p.read_bytes()] == []


def test_sqlite_sweep_through_the_proxy(tmp_path, study_name):
    url = sqlite_url(tmp_path)
    done = run_cli("sweep", *_sweep_args(url, study_name, 3, 3), cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    study = load(url, study_name)
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 3
    logs = "\n".join(p.read_text() for p in tmp_path.rglob("*.log"))
    assert "database is locked" not in logs and "Traceback" not in logs
    assert "storage proxy for sqlite:///" in logs  # the proxy's own log


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


QUICK = ["max_epochs=1", "sweep.n_trials=1", "sweep.workers=1",
         "sweep.storage_proxy.enabled=true"]


@pytest.mark.parametrize(("overrides", "message"), [
    (["sweep.storage=sqlite:///:memory:"], "an in-memory database lives in one process"),
    (["sweep.storage=grpc://127.0.0.1:13000"], "already a proxy: give the database URL"),
    (["sweep.storage_proxy.port=70000"], "sweep.storage_proxy.port must be 0 (any free port) "
                                         "to 65535, got 70000"),
    (["sweep.storage_proxy.max_connections=0"], "sweep.storage_proxy.max_connections must be "
                                                "an integer >= 1, got 0"),
    (["launcher=slurm", "launcher.wait=false"], "sweep.storage_proxy.enabled=true needs "
                                                "launcher.wait=true"),
])
def test_bad_proxy_settings(workdir, capsys, overrides, message):
    local = [] if "launcher=slurm" in overrides else ["launcher.refresh_s=0"]
    code = main(["sweep", *QUICK, *local, *overrides])
    assert code == 2
    assert message in capsys.readouterr().err
    assert not list(workdir.rglob("study.db"))  # nothing created


def test_port_in_use(workdir, capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code = main(["sweep", *QUICK, f"sweep.storage_proxy.port={port}"])
    err = capsys.readouterr().err
    assert code == 2
    assert f"sweep.storage_proxy.port {port} on 127.0.0.1 is in use" in err


def test_worker_pointed_at_no_proxy(workdir, capsys):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code = main(["worker", "max_epochs=1", f"sweep.storage=grpc://127.0.0.1:{port}"])
    assert code == 2
    assert f"no storage proxy answers at grpc://127.0.0.1:{port}" in capsys.readouterr().err
    code = main(["worker", "max_epochs=1", "sweep.storage=grpc://127.0.0.1"])
    assert code == 2
    assert "expected grpc://HOST:PORT" in capsys.readouterr().err


@pytest.mark.usefixtures("slurm")
def test_slurm_jobs_reach_the_proxy_by_this_machines_name(tmp_path, study_name, postgres_url):
    done = run_cli("sweep", "launcher=slurm", "launcher.cpus_per_task=1", "launcher.mem_gb=1",
                   f"launcher.folder={tmp_path / 'slurm'}", "max_epochs=1",
                   f"sweep.storage={postgres_url}", f"sweep.study_name={study_name}",
                   "sweep.n_trials=2", "sweep.workers=1", "sweep.pruner.name=none",
                   "sweep.storage_proxy.enabled=true", timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"storage proxy grpc://{socket.getfqdn()}:" in done.stderr
    trials = load(postgres_url, study_name).trials
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 2
    assert all(t.user_attrs["slurm_job_id"].isdigit() for t in trials)
