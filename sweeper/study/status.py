"""The study's trials as a table (``rankme-sweeper status``) and the live sweep progress."""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
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
from sweeper.study.trial_runs import retry_of, shown_params, trial_seed

__all__ = ["TrialEvents", "best_trials", "print_status", "progress_view", "sweep_progress",
           "trial_ended_line", "trial_started_line", "trials_table"]

_STATE_STYLE = {"COMPLETE": "green", "PRUNED": "yellow", "FAIL": "red", "RUNNING": "cyan",
                "WAITING": "dim"}


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}" if math.isfinite(value) else str(value)
    return str(value)


def _retry_note(trial: FrozenTrial) -> str:
    number = retry_of(trial)
    return "" if number is None else f"retry of #{number}"


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
    trials = study.get_trials(deepcopy=False)
    notes = ["* best trial"] if best else []
    if any(t.state == TrialState.PRUNED and t.intermediate_values for t in trials):
        notes.append("a pruned trial's value: its last per-epoch one (monitor bank)")
    table = Table(title=f"study {study.study_name} @ {mask_url(storage_url)}",
                  caption="; ".join(notes) or None)
    for column in ("#", "state", "params", *objectives, "duration", "run dir"):
        table.add_column(column, overflow="fold")
    for t in trials[-limit:] if limit else trials:
        values = list(t.values) if t.values else []
        if not values and t.state == TrialState.PRUNED and t.intermediate_values:
            values = [t.intermediate_values[max(t.intermediate_values)]]  # last reported
        note = t.user_attrs.get("error", "")
        state = Text(t.state.name, style=_STATE_STYLE.get(t.state.name, ""))
        if retry := _retry_note(t):
            state.append(f" ({retry})")
        table.add_row(
            f"{t.number}{'*' if t.number in best else ''}",
            state,
            # Text, not str: a param or an error holding "[...]" is not rich markup.
            Text(", ".join(f"{k}={_fmt(v)}" for k, v in shown_params(t).items())
                 + ("" if (seed := trial_seed(t)) is None else f" (seed {seed})")),
            *([_fmt(v) for v in values] + [""] * (len(objectives) - len(values))),
            f"{t.duration.total_seconds():.1f}s" if t.duration else "",
            Text(f"{t.user_attrs.get('run_dir', '')}{'  ' + note if note else ''}"),
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
                      f"{t.user_attrs.get('run_dir', '')}", soft_wrap=True, markup=False)


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


def trial_started_line(number: int, params: dict[str, Any], retry: int | None = None) -> str:
    """``trial 3 started: optimizer.lr=0.3, ...``; a retry says of which trial
    (``trial 5 started (retry of #1): ...``)."""
    what = "started" if retry is None else f"started (retry of #{retry})"
    return f"trial {number} {what}: {', '.join(f'{k}={_fmt(v)}' for k, v in params.items())}"


def trial_ended_line(trial: FrozenTrial, objectives: Sequence[str] = ()) -> str:
    """``trial 3 COMPLETE: rankme=39.44 (optimizer.lr=0.3) in 81.2 s``; a pruned trial shows
    its last reported value (``rankme=12.5 at epoch 3, monitor bank``), a failed one no value
    but its error."""
    values = list(trial.values) if trial.values else []
    reported = ""
    if trial.state == TrialState.PRUNED and trial.intermediate_values:
        last = max(trial.intermediate_values)  # Optuna also tells it as the value
        values = values or [trial.intermediate_values[last]]
        reported = f" at epoch {last}, monitor bank"
    names = list(objectives) or ["objective"] * len(values)
    line = f"trial {trial.number} {trial.state.name}"
    if retry := _retry_note(trial):
        line += f" ({retry})"
    if values:
        line += ": " + ", ".join(f"{n}={_fmt(v)}" for n, v in zip(names, values, strict=False))
        line += reported
    line += f" ({', '.join(f'{k}={_fmt(v)}' for k, v in trial.params.items())})"
    if trial.duration is not None:
        line += f" in {trial.duration.total_seconds():.1f} s"
    if trial.user_attrs.get("error"):
        line += f"; {trial.user_attrs['error']}"
    return line


class TrialEvents:
    """The start and end lines of the trials that started or ended since the last call,
    read from the study (so they work whatever process runs the trials).

    Args:
        study: the study whose trials are followed.
        params: the search space's keys: a trial's start line waits until all of them are
            stored (Optuna writes a new trial's params one by one after it is RUNNING).
        epochs: also one line per value a running trial reports (each monitored epoch:
            ``trial 3 epoch 2/20: rankme=12.34 (monitor bank)``), for output that is not a
            live display.
        max_epochs: the epochs of a trial (``max_epochs``), shown after the epoch; a
            ``max_epochs`` param of the trial wins.
    """

    def __init__(self, study: optuna.Study, params: Collection[str] = (), epochs: bool = False,
                 max_epochs: int | None = None) -> None:
        self._study = study
        self._objectives: list[str] = list(study.user_attrs.get("objectives") or [])
        self._params = frozenset(params)
        self._epochs, self._max_epochs = epochs, max_epochs
        trials = study.get_trials(deepcopy=False)
        self._seen: dict[int, TrialState] = {t.number: t.state for t in trials}
        self._started = {t.number for t in trials if t.state != TrialState.WAITING}
        self._steps = {t.number: max(t.intermediate_values, default=0) for t in trials}

    def new_lines(self) -> list[str]:
        """Lines for the changes since the last call (the first: since construction)."""
        lines = []
        for t in self._study.get_trials(deepcopy=False):
            if t.state == TrialState.WAITING:
                continue
            if t.number not in self._started and (
                    t.state.is_finished() or self._params <= set(t.params)):
                self._started.add(t.number)
                lines.append(trial_started_line(t.number, t.params, retry_of(t)))
            if t.number not in self._started:
                continue  # its params are still being stored
            if self._epochs:
                lines += self._epoch_lines(t)
            if t.state.is_finished() and self._seen.get(t.number) != t.state:
                lines.append(trial_ended_line(t, self._objectives))
            self._seen[t.number] = t.state
        return lines

    def _epoch_lines(self, trial: FrozenTrial) -> list[str]:
        done = self._steps.get(trial.number, 0)
        steps = sorted(s for s in trial.intermediate_values if s > done)
        if not steps:
            return []
        self._steps[trial.number] = steps[-1]
        name = self._objectives[0] if len(self._objectives) == 1 else "objective"
        total = trial.params.get("max_epochs", self._max_epochs)
        of = "" if total is None else f"/{total}"
        return [f"trial {trial.number} epoch {s}{of}: {name}="
                f"{_fmt(trial.intermediate_values[s])} (monitor bank)" for s in steps]
