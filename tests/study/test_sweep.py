"""Real studies (SQLite, PostgreSQL) with several worker processes running trials."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
from optuna.storages import RetryHeartbeatStaleTrialCallback
from optuna.trial import TrialState

from tests.study.conftest import cli_env, load, run_cli, sqlite_url

TRAIN = "sweep.train_fn=tests.study.trial_fns:steady"


def _common(url: str, name: str, n_trials: int, workers: int) -> list[str]:
    return [TRAIN, f"sweep.storage={url}", f"sweep.study_name={name}",
            f"sweep.n_trials={n_trials}", f"sweep.workers={workers}",
            "sweep.sampler.name=random", "sweep.sampler.seed=0", "sweep.pruner.name=none",
            "sweep.heartbeat_s=4", "launcher.refresh_s=0", "max_epochs=1"]


def _finished(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    return study.get_trials(states=(TrialState.COMPLETE, TrialState.PRUNED))


def _worker_logs(folder: Path) -> str:
    return "\n".join(p.read_text() for p in folder.rglob("worker_*.log"))


def test_sqlite_four_workers_then_continue(tmp_path, study_name):
    url = sqlite_url(tmp_path)
    done = run_cli(tmp_path, "sweep", *_common(url, study_name, 8, 4))
    assert done.returncode == 0, done.stderr[-3000:]
    study = load(url, study_name)
    assert len(_finished(study)) == 8 and len(study.trials) == 8
    for trial in study.trials:
        run_dir = Path(trial.user_attrs["run_dir"])
        assert run_dir.name == f"trial_{trial.number}" and (run_dir / "metrics.json").is_file()
    assert len({t.user_attrs["worker"] for t in study.trials}) >= 2  # workers ran in parallel
    logs = _worker_logs(tmp_path)
    assert "database is locked" not in logs and "Traceback" not in logs

    more = run_cli(tmp_path, "sweep", *_common(url, study_name, 10, 4))  # n_trials is a total
    assert more.returncode == 0, more.stderr[-3000:]
    assert len(_finished(load(url, study_name))) == 10

    status = run_cli(tmp_path, "status", f"sweep.storage={url}", f"sweep.study_name={study_name}")
    assert status.returncode == 0, status.stderr[-3000:]
    best = load(url, study_name).best_trial
    assert f"best trial {best.number}:" in status.stdout


def test_postgresql_two_workers_masks_password(tmp_path, study_name, postgres_url):
    # Trust authentication ignores the password: it is there to prove it is never printed.
    url = postgres_url.replace("://postgres@", "://postgres:hunter2-secret@")
    done = run_cli(tmp_path, "sweep", *_common(url, study_name, 4, 2))
    assert done.returncode == 0, done.stderr[-3000:]
    study = load(postgres_url, study_name)
    assert len(_finished(study)) == 4 and len(study.trials) == 4
    status = run_cli(tmp_path, "status", f"sweep.storage={url}", f"sweep.study_name={study_name}")
    assert status.returncode == 0
    everything = done.stdout + done.stderr + status.stdout + status.stderr + _worker_logs(tmp_path)
    everything += "\n".join(p.read_text() for p in tmp_path.rglob("*.log"))
    assert "hunter2-secret" not in everything
    assert "postgres:***@" in status.stdout.replace("\n", "")


def test_killed_worker_trial_fails_and_is_retried(tmp_path, study_name):
    url = sqlite_url(tmp_path)
    args = [*_common(url, study_name, 3, 2), "max_epochs=8", "sweep.max_retries=1"]
    sweep = subprocess.Popen([sys.executable, "-m", "sweeper.cli", "sweep", *args], cwd=tmp_path,
                             env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    storage = optuna.storages.RDBStorage(url)
    victim = None
    deadline = time.monotonic() + 120
    while victim is None and time.monotonic() < deadline and sweep.poll() is None:
        time.sleep(0.3)
        try:
            running = load(url, study_name).get_trials(states=(TrialState.RUNNING,))
        except KeyError:
            continue
        victim = next((t for t in running if "worker" in t.user_attrs and t.params), None)
    assert victim is not None, "no trial started"
    pid = int(victim.user_attrs["worker"].rsplit(":", 1)[1])
    os.kill(pid, signal.SIGKILL)
    output = sweep.communicate(timeout=240)[0].decode()
    assert sweep.returncode == 0, output[-3000:]  # the surviving worker retried and finished

    again = run_cli(tmp_path, "sweep", *args)  # re-running a finished study changes nothing
    assert again.returncode == 0, again.stderr[-3000:]
    study = optuna.load_study(study_name=study_name, storage=storage)
    assert len(_finished(study)) == 3
    failed = study.get_trials(states=(TrialState.FAIL,))
    assert [t.number for t in failed] == [victim.number]
    retries = [t for t in study.trials
               if RetryHeartbeatStaleTrialCallback.retried_trial_number(t) == victim.number]
    assert len(retries) == 1 and retries[0].params == victim.params
    assert retries[0].state == TrialState.COMPLETE


def test_raising_training_fails_trial_with_error_attr(tmp_path, study_name):
    url = sqlite_url(tmp_path)
    args = [*_common(url, study_name, 2, 1), "sweep.train_fn=tests.study.trial_fns:explode",
            "sweep.max_retries=0"]
    done = run_cli(tmp_path, "sweep", *args)
    assert done.returncode == 1  # the study did not reach n_trials
    (trial,) = load(url, study_name).trials
    assert trial.state == TrialState.FAIL
    assert trial.user_attrs["error"].startswith("RuntimeError: boom at lr=")
    assert "the study holds 0/2 finished trials" in done.stderr

