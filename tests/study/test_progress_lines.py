"""The sweep's trial lines (start, epochs, end), the status table's retries and waiting params,
and a waiting worker's prompt exit."""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import optuna
from optuna.distributions import FloatDistribution
from optuna.storages import RetryHeartbeatStaleTrialCallback
from optuna.trial import TrialState
from rich.console import Console

from sweeper.study import worker
from sweeper.study.status import TrialEvents, trial_ended_line, trials_table
from sweeper.study.trial_runs import retry_of

DIST = {"optimizer.lr": FloatDistribution(0.0, 1.0)}


def _study(tmp_path: Path) -> optuna.Study:
    study = optuna.create_study(storage=f"sqlite:///{tmp_path / 'study.db'}", study_name="s",
                                direction="maximize")
    study.set_user_attr("objectives", ["rankme"])
    return study


def test_events_report_each_start_and_end_once(tmp_path: Path) -> None:
    study = _study(tmp_path)
    events = TrialEvents(study)
    assert events.new_lines() == []
    trial = study.ask(DIST)
    lr = trial.params["optimizer.lr"]
    assert events.new_lines() == [f"trial 0 started: optimizer.lr={lr:.4g}"]
    assert events.new_lines() == []
    study.tell(trial, 39.4412)
    (line,) = events.new_lines()
    assert line.startswith("trial 0 COMPLETE: rankme=39.44 (optimizer.lr=") and " in " in line
    # a trial that started and ended between two reads gets both lines
    study.tell(study.ask(DIST), state=TrialState.FAIL)
    lines = events.new_lines()
    assert lines[0].startswith("trial 1 started: ") and lines[1].startswith("trial 1 FAIL (")


def test_a_pruned_trial_shows_its_last_reported_value(tmp_path: Path) -> None:
    study = _study(tmp_path)
    trial = study.ask(DIST)
    trial.report(12.5, step=3)
    study.tell(trial, state=TrialState.PRUNED)
    assert trial_ended_line(study.trials[0], ["rankme"]).startswith(
        "trial 0 PRUNED: rankme=12.5 at epoch 3, monitor bank (")


def test_a_waiting_worker_returns_when_nothing_runs(tmp_path: Path) -> None:
    study = _study(tmp_path)
    study.tell(study.ask(DIST), 1.0)  # full (n_trials=1), nothing running
    started = time.monotonic()
    worker._wait_for_slot(study, n_trials=1, interval=30.0)
    assert time.monotonic() - started < 3 * worker.WAIT_POLL_S


def test_a_waiting_worker_waits_while_a_trial_runs(tmp_path: Path) -> None:
    study = _study(tmp_path)
    study.ask(DIST)  # running, the study full with it
    started = time.monotonic()
    worker._wait_for_slot(study, n_trials=1, interval=1.5)
    assert time.monotonic() - started >= 1.4


def _trial(study: optuna.Study, number: int) -> optuna.trial.FrozenTrial:
    return study.get_trials(deepcopy=False)[number]


def test_the_start_line_waits_for_every_param(tmp_path: Path) -> None:
    study = _study(tmp_path)
    events = TrialEvents(study, params=["optimizer.lr", "optimizer.weight_decay"])
    trial = study.ask()  # RUNNING before Optuna stores its params, one by one
    assert events.new_lines() == []
    trial.suggest_float("optimizer.lr", 0.0, 1.0)
    assert events.new_lines() == []
    trial.suggest_float("optimizer.weight_decay", 0.0, 1.0)
    (line,) = events.new_lines()
    assert line.startswith("trial 0 started: optimizer.lr=") and ", optimizer.weight_decay=" \
        in line


def test_epoch_lines_off_a_terminal_and_a_failed_trial_shows_no_value(tmp_path: Path) -> None:
    study = _study(tmp_path)
    events = TrialEvents(study, params=["optimizer.lr"], epochs=True, max_epochs=3)
    trial = study.ask(DIST)
    trial.report(21.456, step=1)
    assert events.new_lines()[1:] == ["trial 0 epoch 1/3: rankme=21.46 (monitor bank)"]
    trial.report(22.0, step=2)
    study.tell(trial, state=TrialState.FAIL)
    lines = events.new_lines()
    assert lines[0] == "trial 0 epoch 2/3: rankme=22 (monitor bank)"
    assert lines[1].startswith("trial 0 FAIL (optimizer.lr=") and "rankme" not in lines[1]
    assert "rankme" not in trial_ended_line(_trial(study, 0), ["rankme"])
    # without epochs (a live display shows progress), no epoch lines
    quiet = TrialEvents(study, params=["optimizer.lr"])
    study.ask(DIST).report(1.0, step=1)
    assert [x for x in quiet.new_lines() if " epoch " in x] == []


def test_status_shows_retries_and_the_params_of_waiting_trials(tmp_path: Path) -> None:
    study = _study(tmp_path)
    first = study.ask(DIST)
    study.tell(first, state=TrialState.FAIL)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        RetryHeartbeatStaleTrialCallback()(study, _trial(study, 0))  # what a stale one gets
    study.enqueue_trial({"optimizer.lr": 0.25})
    events = TrialEvents(study)
    table = Console(width=200, record=True)
    table.print(trials_table(study, "sqlite:///x.db"))
    text = table.export_text()
    retry_row = next(x for x in text.splitlines() if "WAITING (retry of #0)" in x)
    assert f"optimizer.lr={first.params['optimizer.lr']:.4g}" in retry_row
    enqueued = next(x for x in text.splitlines() if x.lstrip("│ ").startswith("2 "))
    assert "WAITING" in enqueued and "optimizer.lr=0.25" in enqueued
    retry = study.ask(DIST)  # the retry runs first
    assert retry.number == 1 and retry_of(_trial(study, 1)) == 0
    assert events.new_lines() == [f"trial 1 started (retry of #0): optimizer.lr="
                                  f"{first.params['optimizer.lr']:.4g}"]
    study.tell(retry, 3.0)
    (ended,) = events.new_lines()
    assert ended.startswith("trial 1 COMPLETE (retry of #0): rankme=3 (")


def test_status_prints_errors_and_params_with_brackets_as_text(tmp_path: Path) -> None:
    # rich would read "[/x]" as a closing markup tag and crash the table
    study = _study(tmp_path)
    trial = study.ask(DIST)
    trial.set_user_attr("error", "RankLost: rank 1 [/gloo] Connection closed by peer")
    study.tell(trial, state=TrialState.FAIL)
    console = Console(width=400, record=True)
    console.print(trials_table(study, "sqlite:///x.db"))
    assert "[/gloo] Connection closed" in console.export_text()
