"""The entry points of the processes a sweep starts (a local worker, a follower rank, the
storage proxy): ``python -m sweeper.commands.<name>``, each refusing a bad command line with
its usage."""

from __future__ import annotations

import subprocess
import sys

import pytest

from sweeper.commands import storage_proxy, trial_rank, worker_process
from tests.cli import REPO, cli_env


@pytest.mark.parametrize(("command", "argv"), [
    (worker_process, []), (worker_process, ["config.yaml"]), (worker_process, ["c.yaml", "x"]),
    (storage_proxy, ["127.0.0.1"]), (storage_proxy, ["127.0.0.1", "0", "20", "3", "8", "x"]),
    (trial_rank, []), (trial_rank, ["sweeper.ssl:train"]),  # no rank in the environment
])
def test_a_bad_command_line_prints_the_usage_and_exits_2(command, argv, capsys) -> None:
    assert command.main(argv) == 2
    assert capsys.readouterr().err == command.USAGE + "\n"


def test_the_worker_process_runs_as_a_module() -> None:
    done = subprocess.run([sys.executable, "-m", "sweeper.commands.worker_process"],
                          capture_output=True, text=True, env=cli_env(), cwd=REPO, timeout=300)
    assert done.returncode == 2 and done.stderr == worker_process.USAGE + "\n"
