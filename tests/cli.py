"""Runs ``rankme-sweeper`` as a user does, always on the checkout under test.

A subprocess of this interpreter with the repo root first on ``PYTHONPATH`` and
``PYTHONSAFEPATH`` set (the current folder never shadows it), so neither an installed console
script nor another checkout's editable install answers instead.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "sweeper.cli"]


def cli_env(pythonpath: Path = REPO) -> dict[str, str]:
    """Environment of a CLI subprocess: ``pythonpath`` first on the import path."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(pythonpath), env.get("PYTHONPATH", "")]).rstrip(
        os.pathsep)
    env["PYTHONSAFEPATH"] = "1"
    return env


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 300,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Runs ``rankme-sweeper ARGS`` (in ``cwd``); returns the finished process."""
    return subprocess.run([*CLI, *args], cwd=cwd, env=env or cli_env(), capture_output=True,
                          text=True, timeout=timeout)
