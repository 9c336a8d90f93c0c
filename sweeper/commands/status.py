"""``rankme-sweeper status [overrides]``: the study's trials and its best trial.

The same overrides as the ``sweep`` that made the study name it (``sweep.study_name=...``,
``sweep.storage=...``); nothing is written (no run dir, no log file).
"""

from __future__ import annotations

from collections.abc import Sequence

from omegaconf import DictConfig
from rich.console import Console

from sweeper.commands.hydra_app import run_app

__all__ = ["OPTIONS", "SUMMARY", "main", "table_console"]

SUMMARY = "table of the study's trials and its best trial"
OPTIONS = "the sweep's overrides, e.g. sweep.study_name=NAME sweep.storage=URL"


def table_console() -> Console:
    """A terminal's width, or a wide one when the table goes to a file or a pipe."""
    console = Console()
    return console if console.is_terminal else Console(width=200)


def _status(cfg: DictConfig) -> int:
    from sweeper.study.plan import make_plan
    from sweeper.study.status import print_status
    from sweeper.study.trial_runs import load_existing_study

    s = make_plan(cfg).settings
    # Never creates the database or the study: a missing one is an error (exit 2).
    study, _ = load_existing_study(s.storage, s.study_name, s.heartbeat_s, s.max_retries)
    print_status(study, s.storage, table_console())
    return 0


def main(argv: Sequence[str]) -> int:
    """The study's trials as a table; 2 for a bad config or a missing study."""
    return run_app("status", argv, _status, config_name="sweep", summary=SUMMARY,
                   options=OPTIONS, quiet=True)
