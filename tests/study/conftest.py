"""Helpers for study tests: run the CLI in a fresh folder, open the study it made."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import optuna
import pytest

from tests.services import POSTGRES_URL, require_postgres

REPO = Path(__file__).resolve().parents[2]
CONF = Path(__file__).resolve().parent / "conf"  # test search spaces, via --config-dir


def cli_env() -> dict[str, str]:
    """Environment for CLI subprocesses: the checkout importable, full Hydra errors."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["HYDRA_FULL_ERROR"] = "1"
    return env


def run_cli(cwd: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Runs ``rankme-sweeper ARGS`` in ``cwd``; returns the finished process."""
    return subprocess.run([sys.executable, "-m", "sweeper.cli", *args], cwd=cwd, env=cli_env(),
                          capture_output=True, text=True, timeout=timeout)


def sqlite_url(folder: Path) -> str:
    return f"sqlite:///{folder / 'study.db'}"


def load(url: str, name: str) -> optuna.Study:
    return optuna.load_study(study_name=name, storage=url)


@pytest.fixture
def study_name() -> str:
    return f"test-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def postgres_url(study_name: str):
    """The test PostgreSQL URL; the test's study is deleted afterwards."""
    require_postgres()
    yield POSTGRES_URL
    try:
        optuna.delete_study(study_name=study_name, storage=POSTGRES_URL)
    except KeyError:
        pass
