"""``rankme-sweeper status [overrides]``: the study's trials and its best trial.

The same overrides as the ``sweep`` that made the study name it (``sweep.study_name=...``,
``sweep.storage=...``); nothing is written (no run dir, no log file).
"""

from __future__ import annotations

from omegaconf import DictConfig
from rich.console import Console

from sweeper.study.plan import make_plan
from sweeper.study.status import print_status
from sweeper.study.trial_runs import load_existing_study

__all__ = ["run", "table_console"]


def table_console() -> Console:
    """A terminal's width, or a wide one when the table goes to a file or a pipe."""
    console = Console()
    return console if console.is_terminal else Console(width=200)


def run(cfg: DictConfig) -> int:
    """Prints the study's trials as a table (a missing study is a ``ValueError``: exit 2)."""
    # the settings only: whether each trial's config could train is sweep's check, not status's
    s = make_plan(cfg, check_trials=False).settings
    # Never creates the database or the study: a missing one is an error (exit 2).
    study, _ = load_existing_study(s.storage, s.study_name)
    print_status(study, s.storage.masked, table_console())
    return 0
