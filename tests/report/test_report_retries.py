"""A retried trial says whose retry it is in the report (its Run cell), as in ``status``."""

from __future__ import annotations

import warnings
from typing import Any

import optuna
from optuna.storages import RetryHeartbeatStaleTrialCallback
from optuna.trial import TrialState

from sweeper.report.tables import trials_table
from sweeper.study.trial_runs import load_trial_runs


def _row(number: int, retry_of: int | None) -> dict[str, Any]:
    return {"number": number, "method": "simclr", "state": "COMPLETE", "status": "completed",
            "params": {"optimizer.lr": 0.1}, "rankme": 10.0, "objective_bank_size": 500,
            "val_acc": 0.9, "test_acc": 0.9, "knn_test_acc": 0.9, "retry_of": retry_of}


def test_the_run_cell_names_the_retried_trial() -> None:
    report = {"metrics": ["rankme"], "trials": [_row(1, None), _row(4, 0)]}
    header, rows = trials_table(report)
    run = header.index("Run")
    assert [r[run] for r in rows] == ["completed", "completed, retry of #0"]


def test_a_retry_is_read_with_the_trial_it_retried() -> None:
    study = optuna.create_study()
    study.tell(study.ask({"x": optuna.distributions.FloatDistribution(0, 1)}),
               state=TrialState.FAIL)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        RetryHeartbeatStaleTrialCallback()(study, study.trials[0])
    first, retry = load_trial_runs(study)
    assert (first.retry_of, retry.retry_of) == (None, 0)
