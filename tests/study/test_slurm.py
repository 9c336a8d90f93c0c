"""A real single-node Slurm cluster (jobs/slurm-single-node.sh): one worker job, one trial."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
from optuna.trial import TrialState

from tests.cli import REPO, run_cli
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
