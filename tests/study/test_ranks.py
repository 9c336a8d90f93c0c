"""Trials on two DDP ranks (``accelerator=cpu devices=2 strategy=ddp``: 2 gloo processes): the
local worker is rank 0 and starts its follower; a follower killed mid-trial fails that trial
once, its retry continues it, and no follower outlives the sweep."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import warnings
from pathlib import Path

import optuna
import pytest
from omegaconf import OmegaConf
from optuna.storages import RetryHeartbeatStaleTrialCallback
from optuna.trial import TrialState

from sweeper.ssl.build import bank_loader, build_parts
from sweeper.ssl.checkpoints import load_checkpoint
from sweeper.ssl.module import SSLModule
from sweeper.ssl.monitor import RankMeMonitor
from sweeper.ssl.monitor_settings import read_monitor
from tests.cli import CLI, cli_env
from tests.study.conftest import CONF, load, sqlite_url

TWO_RANKS = ["accelerator=cpu", "devices=2", "strategy=ddp", "num_threads=1"]


def one_process_objective(run_dir: Path) -> float:
    """RankMe of the run's last checkpoint measured by this one process on the run's
    objective bank."""
    cfg = OmegaConf.load(run_dir / "config.yaml")
    mon = read_monitor(cfg.monitor)
    parts = build_parts(cfg)
    state = load_checkpoint(run_dir / "checkpoints" / "last.ckpt")["state_dict"]
    parts.method.load_state_dict({k.removeprefix("method."): v for k, v in state.items()
                                  if k.startswith("method.")})
    module = SSLModule(parts.cfg, parts.method, parts.views, parts.train_set)
    bank = bank_loader(parts.train_set, mon.objective_bank_size, mon.seed, mon.batch_size)
    return RankMeMonitor(bank, parts.eval_view, every_n_epochs=1,
                         enabled=True).measure(module)["rankme"]


def followers() -> set[int]:
    """Pids of the follower ranks running on this machine."""
    out = subprocess.run(["ps", "-eo", "pid=,args="], capture_output=True, text=True).stdout
    return {int(line.split()[0]) for line in out.splitlines()
            if "sweeper.commands.trial_rank" in line and "ps -eo" not in line}


def test_two_rank_trials_complete_and_a_killed_rank_fails_its_trial_once(tmp_path, study_name):
    # One worker, two trials of 2 epochs on 2 ranks. Rank 1 of the first trial is killed
    # once that trial has reported its first epoch and checkpointed: the trial is told FAIL
    # once, its retry continues its run from the checkpoint on fresh ranks, the second trial
    # completes on the same worker.
    url = sqlite_url(tmp_path)
    before = followers()
    sweep = subprocess.Popen(
        [*CLI, "sweep", f"--config-dir={CONF}", "space=test_safe", f"sweep.storage={url}",
         f"sweep.study_name={study_name}", "sweep.n_trials=2", "sweep.workers=1",
         "sweep.sampler.name=random", "sweep.sampler.seed=0", "sweep.pruner.name=none",
         "sweep.heartbeat_s=4", "sweep.max_retries=1", "launcher.refresh_s=0",
         "max_epochs=2", *TWO_RANKS],
        cwd=tmp_path, env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    seen: set[int] = set()
    victim = None
    deadline = time.monotonic() + 400
    try:
        while victim is None and time.monotonic() < deadline and sweep.poll() is None:
            time.sleep(0.3)
            seen |= followers() - before
            try:
                running = load(url, study_name).get_trials(states=(TrialState.RUNNING,))
            except KeyError:  # the study is not created yet
                continue
            victim = next((t for t in running if t.intermediate_values and (
                Path(t.user_attrs["run_dir"]) / "checkpoints" / "last.ckpt").is_file()), None)
        assert victim is not None, "no trial reached its first epoch"
        (rank1,) = followers() - before
        os.kill(rank1, signal.SIGKILL)
        while sweep.poll() is None:
            seen |= followers() - before
            time.sleep(0.5)
        output = sweep.communicate(timeout=60)[0].decode()
    finally:
        if sweep.poll() is None:
            sweep.kill()
    assert sweep.returncode == 0, output[-3000:]
    assert seen and not (followers() & seen)  # no follower outlives its worker
    assert len(seen) == 2  # the first follower, and the one started after it died

    study = load(url, study_name)
    failed = study.get_trials(states=(TrialState.FAIL,))
    assert [t.number for t in failed] == [victim.number]
    assert "rank 1 of the trial's 2 processes stopped" in failed[0].user_attrs["error"]
    done = study.get_trials(states=(TrialState.COMPLETE,))
    assert len(done) == 2  # the retry and the other trial
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        (retry,) = [t for t in done
                    if RetryHeartbeatStaleTrialCallback.retried_trial_number(t) == victim.number]
    assert retry.params == victim.params
    assert retry.user_attrs["run_dir"] == victim.user_attrs["run_dir"]
    for trial in done:
        run_dir = Path(trial.user_attrs["run_dir"])
        metrics = json.loads((run_dir / "metrics.json").read_text())
        assert metrics["status"] == "completed" and metrics["world_size"] == 2
        assert [h["epoch"] for h in metrics["history"]] == [1, 2]
        assert sorted(trial.intermediate_values) == [1, 2]
        assert trial.value == pytest.approx(one_process_objective(run_dir), rel=1e-9)
    assert retry.user_attrs["resumed_from_trial"] == victim.number
    metrics = json.loads((Path(retry.user_attrs["run_dir"]) / "metrics.json").read_text())
    assert metrics["resumed_from_epoch"] == 1, output[-3000:]  # it continued the attempt
