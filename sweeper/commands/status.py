"""``rankme-sweeper status [overrides]``: the study's trials and its best trial.

The same overrides as the ``sweep`` that made the study name it (``sweep.study_name=...``,
``sweep.storage=...``); nothing is written (no run dir, no log file).
"""

from __future__ import annotations

from collections.abc import Sequence

from omegaconf import DictConfig
from rich.console import Console

from sweeper.commands.hydra_app import run_app

__all__ = ["SUMMARY", "main", "table_console"]

SUMMARY = "table of the study's trials and its best trial"


def table_console() -> Console:
    """A terminal's width, or a wide one when the table goes to a file or a pipe."""
    console = Console()
    return console if console.is_terminal else Console(width=200)


def _status(cfg: DictConfig) -> int:
    from sweeper.study.plan import make_plan, open_study
    from sweeper.study.status import print_status

    plan = make_plan(cfg)
    study = open_study(plan, create=False)
    print_status(study, plan.settings.storage, table_console())
    return 0


def main(argv: Sequence[str]) -> int:
    """The study's trials as a table; 2 for a bad config or a missing study."""
    return run_app("status", argv, _status, config_name="sweep", summary=SUMMARY, quiet=True)
