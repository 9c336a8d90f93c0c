"""The sweep's trial lines (start, end) and a waiting worker's prompt exit."""

from __future__ import annotations

import time
from pathlib import Path

import optuna
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState

from sweeper.study import worker
from sweeper.study.status import TrialEvents, trial_ended_line

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
        "trial 0 PRUNED: rankme=12.5 (")


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
