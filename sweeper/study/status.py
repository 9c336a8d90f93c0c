"""The study's trials as a table (``rankme-sweeper status``) and the live sweep progress."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState
from rich.console import Console, Group
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from sweeper.study.plan import SweepPlan
from sweeper.study.slots import TrialCounts, count_trials
from sweeper.study.storage import mask_url

__all__ = ["TrialEvents", "best_trials", "print_status", "progress_view", "sweep_progress",
           "trial_ended_line", "trial_started_line", "trials_table"]

_STATE_STYLE = {"COMPLETE": "green", "PRUNED": "yellow", "FAIL": "red", "RUNNING": "cyan",
                "WAITING": "dim"}


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}" if math.isfinite(value) else str(value)
    return str(value)


def best_trials(study: optuna.Study) -> list[FrozenTrial]:
    """The best trial (single objective) or the Pareto front (several), [] if none is done."""
    if not study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        return []
    return list(study.best_trials) if len(study.directions) > 1 else [study.best_trial]


def trials_table(study: optuna.Study, storage_url: str, limit: int | None = None) -> Table:
    """A rich table: number, state, params, objective, duration and run dir per trial.

    Args:
        study: the loaded study.
        storage_url: shown (password masked) in the title.
        limit: show only the last ``limit`` trials.
    """
    objectives = study.user_attrs.get("objectives") or ["objective"] * len(study.directions)
    best = {t.number for t in best_trials(study)}
    table = Table(title=f"study {study.study_name} @ {mask_url(storage_url)}",
                  caption="* best trial" if best else None)
    for column in ("#", "state", "params", *objectives, "duration", "run dir"):
        table.add_column(column, overflow="fold")
    trials = study.get_trials(deepcopy=False)
    for t in trials[-limit:] if limit else trials:
        values = list(t.values) if t.values else []
        if not values and t.state == TrialState.PRUNED and t.intermediate_values:
            values = [t.intermediate_values[max(t.intermediate_values)]]  # last reported
        note = t.user_attrs.get("error", "")
        state = Text(t.state.name, style=_STATE_STYLE.get(t.state.name, ""))
        table.add_row(
            f"{t.number}{'*' if t.number in best else ''}",
            state,
            ", ".join(f"{k}={_fmt(v)}" for k, v in t.params.items()),
            *([_fmt(v) for v in values] + [""] * (len(objectives) - len(values))),
            f"{t.duration.total_seconds():.1f}s" if t.duration else "",
            f"{t.user_attrs.get('run_dir', '')}{'  ' + note if note else ''}",
        )
    return table


def progress_view(study_name: str, counts: TrialCounts, n_trials: int,
                  best: float | None) -> Group:
    """One renderable for the live display of a running sweep."""
    done = min(counts.finished, n_trials)
    line = Text.assemble(
        (f"{study_name}: ", "bold"), f"{done}/{n_trials} finished  ",
        (f"{counts.complete} complete ", "green"), (f"{counts.pruned} pruned ", "yellow"),
        (f"{counts.running} running ", "cyan"), (f"{counts.fail} failed", "red"),
        f"  best {best:.4g}" if best is not None else "",
    )
    return Group(line, ProgressBar(total=n_trials, completed=done, width=60))


def print_status(study: optuna.Study, storage_url: str, console: Console | None = None) -> None:
    """Prints the trials table and the best trial(s)."""
    console = console or Console()
    console.print(trials_table(study, storage_url))
    objectives = study.user_attrs.get("objectives") or ["objective"] * len(study.directions)
    for t in best_trials(study):
        params = ", ".join(f"{k}={_fmt(v)}" for k, v in t.params.items())
        values = _fmt(t.values[0]) if len(t.values) == 1 else ", ".join(
            f"{name}={_fmt(v)}" for name, v in zip(objectives, t.values, strict=True))
        console.print(f"best trial {t.number}: {values}  {params}  "
                      f"{t.user_attrs.get('run_dir', '')}", soft_wrap=True)


def sweep_progress(study: optuna.Study, plan: SweepPlan) -> Group:
    """The live progress of the plan's study, read from the storage now."""
    counts = count_trials(study)
    best = None
    if not plan.settings.multi_objective and counts.complete:
        done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        values = [t.value for t in done if t.value is not None]
        if values:
            best = max(values) if plan.settings.directions[0] == "maximize" else min(values)
    return progress_view(plan.settings.study_name, counts, plan.settings.n_trials, best)


def trial_started_line(number: int, params: dict[str, Any]) -> str:
    """``trial 3 started: optimizer.lr=0.3, ...``"""
    return f"trial {number} started: {', '.join(f'{k}={_fmt(v)}' for k, v in params.items())}"


def trial_ended_line(trial: FrozenTrial, objectives: Sequence[str] = ()) -> str:
    """``trial 3 COMPLETE: rankme=39.44 (optimizer.lr=0.3) in 81.2 s``; a pruned trial shows
    its last reported value, a failed one its error."""
    values = list(trial.values) if trial.values else []
    if not values and trial.intermediate_values:
        values = [trial.intermediate_values[max(trial.intermediate_values)]]
    names = list(objectives) or ["objective"] * len(values)
    line = f"trial {trial.number} {trial.state.name}"
    if values:
        line += ": " + ", ".join(f"{n}={_fmt(v)}" for n, v in zip(names, values, strict=False))
    line += f" ({', '.join(f'{k}={_fmt(v)}' for k, v in trial.params.items())})"
    if trial.duration is not None:
        line += f" in {trial.duration.total_seconds():.1f} s"
    if trial.user_attrs.get("error"):
        line += f"; {trial.user_attrs['error']}"
    return line


class TrialEvents:
    """The start and end lines of the trials that started or ended since the last call,
    read from the study (so they work whatever process runs the trials)."""

    def __init__(self, study: optuna.Study) -> None:
        self._study = study
        self._objectives: list[str] = list(study.user_attrs.get("objectives") or [])
        self._seen: dict[int, TrialState] = {
            t.number: t.state for t in study.get_trials(deepcopy=False)}

    def new_lines(self) -> list[str]:
        """Lines for the changes since the last call (the first: since construction)."""
        lines = []
        for t in self._study.get_trials(deepcopy=False):
            before = self._seen.get(t.number)
            if before == t.state:
                continue
            self._seen[t.number] = t.state
            if t.state == TrialState.RUNNING:
                lines.append(trial_started_line(t.number, t.params))
            elif t.state.is_finished():
                if before is None:
                    lines.append(trial_started_line(t.number, t.params))
                lines.append(trial_ended_line(t, self._objectives))
        return lines
