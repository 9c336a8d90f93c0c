"""A real single-node Slurm cluster (jobs/slurm-single-node.sh): one worker job, one trial."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from tests.cli import CLI, REPO, cli_env, run_cli
from tests.services import service_missing
from tests.study.conftest import load


def _slurm_up() -> bool:
    if shutil.which("scontrol") is None:
        return False
    ping = subprocess.run(["scontrol", "ping"], capture_output=True, text=True, timeout=30)
    return ping.returncode == 0 and "UP" in ping.stdout


@pytest.fixture(scope="module")
def slurm() -> None:
    """Starts the cluster with the repo's script when it is not up (needs root)."""
    if _slurm_up():
        return
    if os.geteuid() != 0:
        service_missing("Slurm is not running and jobs/slurm-single-node.sh needs root to start it")
    script = subprocess.run([str(REPO / "jobs" / "slurm-single-node.sh")], capture_output=True,
                            text=True, timeout=900)
    if script.returncode != 0 or not _slurm_up():
        service_missing(f"Slurm could not be started: {script.stderr.strip()[-500:]}")


def test_slurm_worker_job_completes_a_trial_without_the_password_on_disk(
        tmp_path, study_name, slurm, postgres_url):
    # A password typed into the URL (trust authentication ignores it) reaches the job
    # through its environment: no file written, submitit's pickles included, holds it.
    url = postgres_url.replace("://postgres@", "://postgres:slurm-s3cret@")
    done = run_cli("sweep", "launcher=slurm", "launcher.cpus_per_task=1",
                   "launcher.mem_gb=1", f"launcher.folder={tmp_path / 'slurm'}",
                   "max_epochs=1",
                   f"sweep.storage={url}", f"sweep.study_name={study_name}", "sweep.n_trials=1",
                   "sweep.workers=1", "sweep.pruner.name=none", timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "submitted 1 Slurm worker jobs" in done.stderr
    (trial,) = load(url, study_name).trials
    assert trial.state == TrialState.COMPLETE
    assert trial.user_attrs["slurm_job_id"].isdigit()
    assert list((tmp_path / "slurm").glob("*_0_log.out"))  # submitit's log of the job
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.suffix == ".pkl" for p in files)
    assert [p for p in files if b"slurm-s3cret" in p.read_bytes()] == []
    assert "slurm-s3cret" not in done.stdout + done.stderr


def _wait_for(what: str, check, sweep: subprocess.Popen, timeout: float = 300.0):
    """Polls ``check()`` until it returns something truthy; fails on timeout or sweep exit."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        if sweep.poll() is not None:
            pytest.fail(f"sweep ended while waiting for {what}: {sweep.communicate()[0][-3000:]}")
        time.sleep(0.5)
    pytest.fail(f"timed out waiting for {what}")


def _release(job: str, restarts: int) -> None:
    """Waits for ``job``'s restart number ``restarts``; a requeued job, which Slurm holds for
    120 s (BeginTime) once it is PENDING again, is started at once instead. The count rises
    while the job is still COMPLETING: releasing then would leave the hold in place."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        out = subprocess.run(["squeue", "-h", "-j", job, "-O", "State:20,RestartCnt:10"],
                             capture_output=True, text=True).stdout.split()
        if len(out) == 2 and int(out[1]) >= restarts and out[0] != "COMPLETING":
            if out[0] == "PENDING":
                subprocess.run(["scontrol", "update", f"JobId={job}", "StartTime=now"],
                               check=True)
            return
        time.sleep(0.2)
    pytest.fail(f"job {job} was not requeued")


def test_requeued_worker_jobs_continue_their_trial_to_one_complete_trial(
        tmp_path, study_name, slurm, postgres_url):
    # Two worker jobs, two trials. The first trial to report an epoch has its job
    # interrupted twice: by submitit's time-limit signal (USR2: checkpoint and requeue
    # itself) and by `scontrol requeue` (an admin's or a preemption's). With a 4 s
    # heartbeat the other worker would fail that trial as stale while its job waits and
    # restarts; it must instead end COMPLETE, every epoch's value reported once, resumed
    # from its checkpoint each time.
    epochs = 12  # room after each interruption: a digits epoch takes about a second
    # one storage for the polling below (a URL per call would open an engine, and its
    # connections, each time)
    storage = optuna.storages.RDBStorage(postgres_url)
    sweep = subprocess.Popen(
        [*CLI, "sweep", "launcher=slurm",
         "launcher.cpus_per_task=1", "launcher.mem_gb=2", f"launcher.folder={tmp_path / 'slurm'}",
         f"max_epochs={epochs}", f"sweep.storage={postgres_url}",
         f"sweep.study_name={study_name}", "sweep.n_trials=2", "sweep.workers=2",
         "sweep.heartbeat_s=4", "sweep.pruner.name=none"],
        cwd=tmp_path, env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        def first_reported() -> optuna.trial.FrozenTrial | None:
            try:
                trials = load(storage, study_name).trials
            except KeyError:  # the study is not created yet
                return None
            return next((t for t in trials if t.intermediate_values
                         and t.user_attrs.get("slurm_job_id")), None)

        trial = _wait_for("a trial's first epoch", first_reported, sweep)
        job = trial.user_attrs["slurm_job"]  # "<array job>_<task>": submitit submits arrays
        subprocess.run(["scancel", "--signal=USR2", job], check=True)  # time limit near
        _release(job, 1)

        def continued(restarts: int, after: int):
            def check() -> bool:
                t = load(storage, study_name).trials[trial.number]
                return (t.user_attrs.get("slurm_restarts") == restarts
                        and max(t.intermediate_values, default=0) > after)
            return check

        reached = max(trial.intermediate_values)
        _wait_for("the trial to continue after USR2", continued(1, reached), sweep)
        reached = max(load(storage, study_name).trials[trial.number].intermediate_values)
        subprocess.run(["scontrol", "requeue", job], check=True)
        _release(job, 2)
        _wait_for("the trial to continue after scontrol requeue", continued(2, reached), sweep)
        out, _ = sweep.communicate(timeout=600)
    except BaseException:
        for t in load(storage, study_name).trials:
            print(t.number, t.state, t.intermediate_values, t.user_attrs)
        raise
    finally:
        if sweep.poll() is None:
            sweep.kill()
    assert sweep.returncode == 0, out[-3000:]
    trials = load(storage, study_name).trials
    assert [t.state for t in trials] == [TrialState.COMPLETE, TrialState.COMPLETE], out[-3000:]
    done = trials[trial.number]
    assert sorted(done.intermediate_values) == list(range(1, epochs + 1))
    assert done.user_attrs["slurm_restarts"] == 2
    assert "resumed_from_trial" not in done.user_attrs  # the same trial, not a retry
    metrics = json.loads((Path(done.user_attrs["run_dir"]) / "metrics.json").read_text())
    assert metrics["resumed_from_epoch"] >= 2  # it did not start over
    assert metrics["status"] == "completed"


def test_a_two_task_job_trains_a_two_rank_trial_and_resumes_it_after_a_requeue(
        tmp_path, study_name, slurm, postgres_url):
    # `devices=2` on the CPU: the worker job asks for 2 tasks and no GPU; srun starts both,
    # task 0 runs the worker, task 1 follows it. `scontrol requeue` after the first epoch:
    # the job comes back and the trial continues from its checkpoint on both ranks.
    from tests.study.test_ranks import TWO_RANKS, one_process_objective

    epochs = 4
    storage = optuna.storages.RDBStorage(postgres_url)
    sweep = subprocess.Popen(
        [*CLI, "sweep", "launcher=slurm", "launcher.cpus_per_task=1", "launcher.mem_gb=2",
         f"launcher.folder={tmp_path / 'slurm'}", f"max_epochs={epochs}", *TWO_RANKS,
         f"sweep.storage={postgres_url}", f"sweep.study_name={study_name}",
         "sweep.n_trials=1", "sweep.workers=1", "sweep.heartbeat_s=4",
         "sweep.pruner.name=none"],
        cwd=tmp_path, env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        def reported() -> optuna.trial.FrozenTrial | None:
            try:
                trials = load(storage, study_name).trials
            except KeyError:
                return None
            return next((t for t in trials if t.intermediate_values
                         and t.user_attrs.get("slurm_job_id") and (
                             Path(t.user_attrs["run_dir"]) / "checkpoints" / "last.ckpt"
                         ).is_file()), None)

        trial = _wait_for("the trial's first checkpoint", reported, sweep)
        job = trial.user_attrs["slurm_job"]
        subprocess.run(["scontrol", "requeue", job], check=True)
        _release(job, 1)
        out, _ = sweep.communicate(timeout=600)
    finally:
        if sweep.poll() is None:
            sweep.kill()
    assert sweep.returncode == 0, out[-3000:]
    (done,) = load(storage, study_name).trials
    assert done.state == TrialState.COMPLETE, out[-3000:]
    assert done.user_attrs["slurm_restarts"] == 1
    assert sorted(done.intermediate_values) == list(range(1, epochs + 1))
    run_dir = Path(done.user_attrs["run_dir"])
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["status"] == "completed" and metrics["world_size"] == 2
    assert metrics["resumed_from_epoch"] >= 1
    assert done.value == pytest.approx(one_process_objective(run_dir), rel=1e-9)
