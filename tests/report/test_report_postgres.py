"""Oracle results land on finished trials in a PostgreSQL study too."""

from __future__ import annotations

import uuid

import optuna
import pytest

from sweeper.cli import main
from tests.report.study_builder import add_trial, metrics_for, new_study
from tests.services import POSTGRES_URL, require_postgres


@pytest.fixture
def postgres_study_name():
    require_postgres()
    name = f"test-report-{uuid.uuid4().hex[:10]}"
    yield name
    optuna.delete_study(study_name=name, storage=POSTGRES_URL)


def test_compare_stores_oracle_attrs_in_postgres(tmp_path, capsys, postgres_study_name) -> None:
    study, folder, overrides = new_study(tmp_path, postgres_study_name, url=POSTGRES_URL)
    for noise in (0.1, 0.5, 1.0):
        add_trial(study, folder, "simclr", noise, metrics_for(40.0 / (1 + noise)))
    assert main(["compare", *overrides]) == 0
    assert "report:" in capsys.readouterr().out
    trials = optuna.load_study(study_name=postgres_study_name, storage=POSTGRES_URL).trials
    assert all(0.0 <= t.user_attrs["oracle_test_acc"] <= 1.0 for t in trials)
    assert all(t.user_attrs["run_dir"].endswith(f"trial_{t.number}") for t in trials)
    assert [t.state for t in trials] == [optuna.trial.TrialState.COMPLETE] * 3
    # a second compare updates the same rows instead of adding duplicates
    assert main(["compare", *overrides]) == 0
    again = optuna.load_study(study_name=postgres_study_name, storage=POSTGRES_URL).trials
    assert [t.user_attrs["oracle_test_acc"] for t in again] == \
        [t.user_attrs["oracle_test_acc"] for t in trials]
