"""The README's dashboard command works on a study the sweep wrote (extra `dashboard`)."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import optuna
import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_optuna_dashboard_serves_a_sweeps_study(tmp_path: Path) -> None:
    exe = shutil.which("optuna-dashboard", path=str(Path(sys.executable).parent))
    if exe is None:
        pytest.skip("optuna-dashboard not installed: pip install -e '.[dashboard]'")
    url = f"sqlite:///{tmp_path / 'study.db'}"
    study = optuna.create_study(study_name="seen", storage=url, direction="maximize")
    study.optimize(lambda t: t.suggest_float("optimizer.lr", 0.1, 1.0), n_trials=2)
    port = _free_port()
    server = subprocess.Popen([exe, url, "--port", str(port), "--host", "127.0.0.1", "--quiet"],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline, studies = time.monotonic() + 60, None
        while studies is None and time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/studies",
                                            timeout=5) as answer:
                    studies = json.loads(answer.read())["study_summaries"]
            except OSError:
                assert server.poll() is None, server.communicate()[0]
                time.sleep(0.5)
        assert studies is not None, "the dashboard did not answer in 60 s"
        assert [s["study_name"] for s in studies] == ["seen"]
    finally:
        server.terminate()
        server.wait(timeout=30)
