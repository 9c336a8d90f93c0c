"""Real studies (SQLite, PostgreSQL) whose worker processes train SimCLR on digits.

Trials are tiny (1-2 epochs of sklearn's digits on the CPU). Spaces come from
``tests/study/conf/space`` through Hydra's ``--config-dir``.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import optuna
import pytest
from omegaconf import OmegaConf
from optuna.storages import RetryHeartbeatStaleTrialCallback
from optuna.trial import TrialState

from tests.cli import CLI, cli_env, run_cli
from tests.study.conftest import CONF, load, sqlite_url


def _common(url: str, name: str, n_trials: int, workers: int, space: str = "test_safe",
            pruner: str = "none") -> list[str]:
    return [f"--config-dir={CONF}", f"space={space}", f"sweep.storage={url}",
            f"sweep.study_name={name}", f"sweep.n_trials={n_trials}", f"sweep.workers={workers}",
            "sweep.sampler.name=random", "sweep.sampler.seed=0", f"sweep.pruner.name={pruner}",
            "sweep.heartbeat_s=4", "launcher.refresh_s=0", "max_epochs=1"]


def _finished(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    return study.get_trials(states=(TrialState.COMPLETE, TrialState.PRUNED))


def _logs(folder: Path) -> str:
    return "\n".join(p.read_text(errors="replace") for p in folder.rglob("*.log"))


def test_sqlite_four_workers_then_continue(tmp_path, study_name):
    url = sqlite_url(tmp_path)
    done = run_cli("sweep", *_common(url, study_name, 4, 4), cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    study = load(url, study_name)
    assert len(_finished(study)) == 4 and len(study.trials) == 4
    for trial in study.trials:
        run_dir = Path(trial.user_attrs["run_dir"])
        assert run_dir.name == f"trial_{trial.number}"
        metrics = json.loads((run_dir / "metrics.json").read_text())
        assert metrics["status"] == "completed" and metrics["rankme"] == trial.value
    assert len({t.user_attrs["worker"] for t in study.trials}) >= 2  # workers ran side by side
    logs = _logs(tmp_path)
    assert "database is locked" not in logs and "Traceback" not in logs

    # One more trial from a lone `worker` (what a Slurm job runs); n_trials is the total.
    more = run_cli("worker", *_common(url, study_name, 5, 1), cwd=tmp_path)
    assert more.returncode == 0, more.stderr[-3000:]
    assert len(_finished(load(url, study_name))) == 5
    logs = list((tmp_path / "outputs" / "sweeps" / study_name / "workers").rglob("worker_*.log"))
    text = "\n".join(p.read_text() for p in logs)
    assert logs and "GPU available" in text  # Lightning's lines, once each, no ads
    assert not any(line.startswith("INFO: ") for line in text.splitlines())
    assert "litlogger" not in text
    for trial in load(url, study_name).trials:  # each trial logged under the study's name
        run_dir = Path(trial.user_attrs["run_dir"])
        assert OmegaConf.load(run_dir / "config.yaml").tracking.experiment == study_name
        assert list((run_dir / "logs").glob("events.out.tfevents.*"))  # TensorBoard
    # nothing left to do
    again = run_cli("sweep", *_common(url, study_name, 5, 4), cwd=tmp_path)
    assert again.returncode == 0 and len(load(url, study_name).trials) == 5

    # A plain Optuna study: Optuna's own command line reads it.
    optuna_cli = subprocess.run([str(Path(sys.executable).parent / "optuna"), "trials",
                                 "--study-name", study_name, "--storage", url, "-f", "json"],
                                capture_output=True, text=True, timeout=120)
    assert optuna_cli.returncode == 0, optuna_cli.stderr
    assert len(json.loads(optuna_cli.stdout)) == 5

    status = run_cli("status", f"sweep.storage={url}", f"sweep.study_name={study_name}",
                     cwd=tmp_path)
    assert status.returncode == 0, status.stderr[-3000:]
    best = load(url, study_name).best_trial
    assert f"best trial {best.number}:" in status.stdout


@pytest.mark.parametrize("typed", [False, True], ids=["from-env", "typed-in-url"])
def test_postgresql_two_workers_keep_the_password_out_of_files_and_output(
        tmp_path, study_name, postgres_url, monkeypatch, typed):
    # Trust authentication ignores the password: it is there to prove it is never shown,
    # whether the URL reads it from the environment or it is typed into the URL.
    monkeypatch.setenv("RANKME_TEST_PGPASS", "hunter2-secret")
    password = "hunter2-secret" if typed else "${oc.env:RANKME_TEST_PGPASS}"
    url = postgres_url.replace("://postgres@", f"://postgres:{password}@")
    # Two objectives: RankMe up, alpha-ReQ down (a slower spectral decay).
    objective = "sweep.objective=[rankme,alpha_req]"
    done = run_cli("sweep", *_common(url, study_name, 2, 2), objective, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    study = load(postgres_url, study_name)
    assert len(_finished(study)) == 2 and len(study.trials) == 2
    assert [d.name for d in study.directions] == ["MAXIMIZE", "MINIMIZE"]
    for trial in study.trials:
        metrics = json.loads((Path(trial.user_attrs["run_dir"]) / "metrics.json").read_text())
        assert trial.values == [metrics["rankme"], metrics["alpha_req"]]
    status = run_cli("status", f"sweep.storage={url}", f"sweep.study_name={study_name}",
                     objective, "sweep.pruner.name=none", cwd=tmp_path)
    assert status.returncode == 0, status.stderr[-3000:]
    assert "alpha_req" in status.stdout
    assert "postgres:***@" in status.stdout.replace("\n", "")
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.name == "config.yaml" for p in files)  # hydra's and the workers' configs
    everything = done.stdout + done.stderr + status.stdout + status.stderr
    assert "hunter2-secret" not in everything
    leaks = [p for p in files if b"hunter2-secret" in p.read_bytes()]  # checkpoints too
    assert leaks == []


def test_killed_worker_trial_is_retried_from_its_checkpoint(tmp_path, study_name):
    url = sqlite_url(tmp_path)
    args = [*_common(url, study_name, 2, 2), "max_epochs=6", "sweep.max_retries=1"]
    sweep = subprocess.Popen([*CLI, "sweep", *args], cwd=tmp_path,
                             env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    victim = None
    deadline = time.monotonic() + 180
    while victim is None and time.monotonic() < deadline and sweep.poll() is None:
        time.sleep(0.3)
        try:
            running = load(url, study_name).get_trials(states=(TrialState.RUNNING,))
        except KeyError:  # the study is not created yet
            continue
        # Kill mid-trial, once the first epoch's checkpoint is written.
        victim = next((t for t in running if t.intermediate_values and
                       (Path(t.user_attrs["run_dir"]) / "checkpoints" / "last.ckpt").is_file()),
                      None)
    assert victim is not None, "no trial reached a monitor step"
    os.kill(int(victim.user_attrs["worker"].rsplit(":", 1)[1]), signal.SIGKILL)
    output = sweep.communicate(timeout=300)[0].decode()
    assert sweep.returncode == 0, output[-3000:]  # the other worker ran the retry

    # re-running a finished study changes nothing
    again = run_cli("sweep", *args, cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    study = load(url, study_name)
    assert len(_finished(study)) == 2
    assert [t.number for t in study.get_trials(states=(TrialState.FAIL,))] == [victim.number]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        retries = [t for t in study.trials
                   if RetryHeartbeatStaleTrialCallback.retried_trial_number(t) == victim.number]
    assert len(retries) == 1 and retries[0].params == victim.params
    (retry,) = retries
    assert retry.state == TrialState.COMPLETE
    # it continued the dead attempt's run: same folder, from its checkpoint, every epoch's
    # value reported once
    assert retry.user_attrs["resumed_from_trial"] == victim.number
    assert retry.user_attrs["run_dir"] == victim.user_attrs["run_dir"]
    metrics = json.loads((Path(retry.user_attrs["run_dir"]) / "metrics.json").read_text())
    assert metrics["status"] == "completed" and metrics["epochs"] == 6
    assert 1 <= metrics["resumed_from_epoch"] < 6  # it did not start over
    assert sorted(retry.intermediate_values) == [1, 2, 3, 4, 5, 6]
    assert [h["epoch"] for h in metrics["history"]] == [1, 2, 3, 4, 5, 6]


def test_pruner_stops_a_collapsing_configuration_and_divergence_counts_as_pruned(
        tmp_path, study_name):
    url = sqlite_url(tmp_path)
    args = [*_common(url, study_name, 3, 1, space="test_collapse", pruner="median"),
            "max_epochs=2", "sweep.pruner.n_startup_trials=1", "sweep.pruner.n_warmup_steps=0",
            # lr 1e30 from the first step, without the LARS clip that caps a step: it diverges
            "scheduler.warmup_epochs=0", "optimizer.kwargs.clip_lr=false",
            "sweep.enqueue=[{optimizer.lr:0.3},{optimizer.lr:50.0},{optimizer.lr:1e30}]"]
    done = run_cli("sweep", *args, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    good, bad, diverged = load(url, study_name).trials
    assert good.params == {"optimizer.lr": 0.3} and good.state == TrialState.COMPLETE
    assert bad.params == {"optimizer.lr": 50.0} and bad.state == TrialState.PRUNED
    assert max(bad.intermediate_values) < max(good.intermediate_values)  # stopped early
    run_dir = Path(bad.user_attrs["run_dir"])
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["status"] == "pruned" and bad.user_attrs["train_status"] == "pruned"
    assert list(run_dir.rglob("*.ckpt"))  # a pruned run keeps its checkpoint
    assert diverged.params == {"optimizer.lr": 1e30} and diverged.state == TrialState.PRUNED
    assert diverged.user_attrs["train_status"] == "diverged"
    # compare's view: diverged before its first checkpoint, so nothing to probe, said so
    from sweeper.study.trial_runs import load_trial_runs

    runs = load_trial_runs(load(url, study_name), base=tmp_path)
    assert [r.stopped for r in runs] == [None, None, "diverged"]
    assert re.fullmatch(r"diverged \(loss (nan|-?inf) in epoch 1, step \d+\) before any "
                        r"checkpoint: no features to probe", str(runs[2].skipped))


def test_raising_training_fails_trial_with_error_attr(tmp_path, study_name):
    url = sqlite_url(tmp_path)
    args = [*_common(url, study_name, 2, 1), "sweep.max_retries=0",
            "sweep.train_fn=tests.study.broken_training:train"]
    done = run_cli("sweep", *args, cwd=tmp_path)
    assert done.returncode == 1  # the study did not reach n_trials
    (trial,) = load(url, study_name).trials
    assert trial.state == TrialState.FAIL
    assert "no_such_net" in trial.user_attrs["error"]
    assert "the study holds 0/2 finished trials" in done.stderr
