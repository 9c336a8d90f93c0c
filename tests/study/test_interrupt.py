"""Ctrl-C on ``sweep``: its running trial is failed and queued again at once, ``status`` says
so, and the next ``sweep`` continues it from its checkpoint without a heartbeat timeout.

The trial is SimCLR on digits (2 batches an epoch), held in its second epoch by
``tests/study/held_training.py`` until the test has interrupted it."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import warnings
from pathlib import Path

import optuna
from optuna.trial import TrialState

from sweeper.cli import main
from sweeper.study.interrupt import INTERRUPTED
from sweeper.study.trial_runs import retry_of
from tests.cli import CLI, cli_env, run_cli
from tests.study.conftest import CONF, load, sqlite_url
from tests.study.held_training import HOLD_ENV


def _args(url: str, name: str) -> list[str]:
    # heartbeat_s is the default 60 s: a retry that waited for a stale heartbeat would show
    # the stale failure, not the interrupt, in the trial's error attr
    return [f"--config-dir={CONF}", "space=test_safe", f"sweep.storage={url}",
            f"sweep.study_name={name}", "sweep.n_trials=1", "sweep.workers=1",
            "sweep.sampler.name=random", "sweep.sampler.seed=0", "sweep.pruner.name=none",
            "sweep.heartbeat_s=60", "launcher.refresh_s=0.2", "max_epochs=3",
            "limit_train_batches=2", "sweep.train_fn=tests.study.held_training:train"]


def _wait_for_the_held_trial(url: str, name: str, sweep: subprocess.Popen[str]
                            ) -> optuna.trial.FrozenTrial:
    """The running trial, once it reported its second epoch (and is held there)."""
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and sweep.poll() is None:
        time.sleep(0.3)
        try:
            running = load(url, name).get_trials(states=(TrialState.RUNNING,))
        except KeyError:  # the study is not created yet
            continue
        for t in running:
            if 2 in t.intermediate_values:
                return t
    raise AssertionError(f"no trial reached its second epoch: {sweep.communicate()}")


def test_ctrl_c_fails_and_requeues_the_running_trial_and_the_next_sweep_resumes_it(
        tmp_path: Path, study_name: str, capsys, monkeypatch) -> None:
    url = sqlite_url(tmp_path)
    args = _args(url, study_name)
    hold = tmp_path / "hold"
    hold.touch()
    # its own process group, which Ctrl-C on a terminal signals as a whole (workers included);
    # SIGINT at its default, as on a terminal: a test run started in the background (CI, `&`)
    # inherits it ignored, and Python then never raises KeyboardInterrupt
    sweep = subprocess.Popen([*CLI, "sweep", *args], cwd=tmp_path,
                             env={**cli_env(), HOLD_ENV: str(hold)},
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             start_new_session=True,
                             preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        victim = _wait_for_the_held_trial(url, study_name, sweep)
        assert (Path(victim.user_attrs["run_dir"]) / "checkpoints" / "last.ckpt").is_file()
        os.killpg(sweep.pid, signal.SIGINT)
        output = sweep.communicate(timeout=120)[0]
    finally:
        if sweep.poll() is None:
            os.killpg(sweep.pid, signal.SIGKILL)
    assert sweep.returncode == 1, output[-3000:]  # the study still lacks its trial
    assert (f"trial {victim.number} interrupted: failed, queued again as trial 1 "
            f"(retry of #{victim.number})") in output, output[-3000:]

    # at once: nothing RUNNING, the interrupted trial FAIL, its retry WAITING
    study = load(url, study_name)
    interrupted, retry = study.trials
    assert interrupted.state == TrialState.FAIL
    assert interrupted.user_attrs["error"] == INTERRUPTED
    assert retry.state == TrialState.WAITING and retry_of(retry) == interrupted.number
    assert retry.params == interrupted.params and "error" not in retry.user_attrs
    monkeypatch.chdir(tmp_path)
    assert main(["status", f"sweep.storage={url}", f"sweep.study_name={study_name}"]) == 0
    table = capsys.readouterr().out
    assert "RUNNING" not in table and "FAIL" in table and "interrupted" in table
    assert "WAITING (retry of #0)" in table
    assert "optimizer.lr=" in table.split("WAITING")[1]  # its params, while it waits

    hold.unlink()
    again = run_cli("sweep", *args, cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    study = load(url, study_name)
    assert [t.state for t in study.trials] == [TrialState.FAIL, TrialState.COMPLETE]
    assert study.trials[0].user_attrs["error"] == INTERRUPTED  # not failed as stale later
    done = study.trials[1]
    assert done.user_attrs["resumed_from_trial"] == 0
    assert done.user_attrs["run_dir"] == interrupted.user_attrs["run_dir"]  # trial_0/ reused
    lines = again.stderr.splitlines()
    assert any(x.startswith("trial 1 started (retry of #0): ") for x in lines), lines
    assert any(x.startswith("trial 1 COMPLETE (retry of #0): rankme=") for x in lines)
    # not on a terminal: a line per epoch the trial reports, counted from 1
    assert any(x.startswith("trial 1 epoch 3/3: rankme=") and x.endswith("(monitor bank)")
               for x in lines), lines
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # retry_of keeps Optuna's experimental warning quiet
        assert retry_of(study.trials[0]) is None
