"""Studies the oracle cannot fully use get a clear message, never a traceback."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from optuna.trial import TrialState

from sweeper.cli import main
from sweeper.oracle.feature_cache import cache_path, save_features
from tests.report.study_builder import add_trial, metrics_for, new_study


def test_one_trial_study_reports_with_a_note(tmp_path, capsys) -> None:
    study, folder, overrides = new_study(tmp_path)
    add_trial(study, folder, "simclr", 0.2, metrics_for(30.0))
    assert main(["compare", *overrides]) == 0
    out = capsys.readouterr().out
    assert "1 evaluated trial(s)" in out and "at least 3 trials" in out
    report = json.loads((folder / "report" / "report.json").read_text())
    assert report["selection"]["simclr"]["rankme"]["trial"] == 0
    assert report["selection"]["simclr"]["rankme"]["gap"] == 0.0
    assert report["correlation"]["simclr"]["rankme"]["spearman_rho"] is None
    assert (folder / "report" / "report.html").is_file()


def test_failed_trials_are_listed_and_skipped(tmp_path, capsys) -> None:
    study, folder, overrides = new_study(tmp_path)
    add_trial(study, folder, "simclr", 0.2, metrics_for(30.0))
    add_trial(study, folder, "simclr", 0.2, None, state=TrialState.FAIL)
    add_trial(study, folder, "simclr", 0.2, None)  # finished, but no metrics.json
    add_trial(study, folder, "simclr", 0.1, {**metrics_for(20.0), "status": "failed"})
    assert main(["compare", *overrides]) == 0
    out = capsys.readouterr().out
    assert "trial 1: skipped (state FAIL)" in out
    assert "trial 2: skipped (unreadable" in out
    assert "trial 3: skipped (training status 'failed')" in out
    report = json.loads((folder / "report" / "report.json").read_text())
    assert [t["number"] for t in report["trials"]] == [0]
    assert [s["number"] for s in report["study"]["skipped"]] == [1, 2, 3]


def test_only_failed_trials_is_an_error_not_a_crash(tmp_path, capsys) -> None:
    study, folder, overrides = new_study(tmp_path)
    add_trial(study, folder, "simclr", 0.2, None, state=TrialState.FAIL)
    add_trial(study, folder, "simclr", 0.2, None, state=TrialState.FAIL)
    assert main(["compare", *overrides]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: study 's1' has no finished trial to evaluate (2 trial(s)")
    assert not (folder / "report").exists()


def test_unlabelled_data_is_named(tmp_path, capsys) -> None:
    study, folder, overrides = new_study(tmp_path)
    add_trial(study, folder, "simclr", 0.2, metrics_for(30.0), labels=False)
    assert main(["compare", *overrides]) == 2
    err = capsys.readouterr().err
    assert "trial 0, dataset 'digits'" in err and "no labels" in err


@pytest.mark.parametrize("what", ["name", "file"])
def test_missing_study_names_what_exists(tmp_path, capsys, what) -> None:
    _, _, overrides = new_study(tmp_path)
    if what == "name":
        overrides[0] = "sweep.study_name=nope"
        expected = "no study named 'nope'"
    else:
        overrides[1] = f"sweep.storage=sqlite:///{tmp_path / 'none.db'}"
        expected = "no study database at"
    assert main(["compare", *overrides]) == 2
    err = capsys.readouterr().err
    assert expected in err
    if what == "name":
        assert "it holds: s1" in err
    assert not (tmp_path / "none.db").exists()


def test_bad_settings_are_named(tmp_path, capsys) -> None:
    study, folder, overrides = new_study(tmp_path)
    add_trial(study, folder, "simclr", 0.2, metrics_for(30.0))
    assert main(["compare", *overrides, "compare.metrics=[rankme,rank_me]"]) == 2
    assert "unknown ['rank_me']" in capsys.readouterr().err
    assert main(["compare", *overrides, "compare.probe.val_fraction=1.5"]) == 2
    assert "val_fraction must be in (0, 1), got 1.5" in capsys.readouterr().err


def test_trials_whose_oracle_fails_are_skipped(tmp_path, capsys) -> None:
    study, folder, overrides = new_study(tmp_path)
    broken = add_trial(study, folder, "simclr", 0.3, metrics_for(20.0))
    # no cached features and a checkpoint that is not one: extraction fails for this trial
    shutil.rmtree(folder / f"trial_{broken}" / "features")
    diverged = add_trial(study, folder, "simclr", 0.2, metrics_for(25.0))
    path = cache_path(folder / f"trial_{diverged}", "digits", "train")
    with np.load(path) as f:
        x, y, spec = f["features"], f["labels"], str(f["spec"])
    x[0, 0] = np.nan
    save_features(path, x, y, spec)
    good = add_trial(study, folder, "simclr", 0.2, metrics_for(30.0))
    assert main(["compare", *overrides]) == 0
    out = capsys.readouterr().out
    assert f"trial {broken}: skipped (oracle failed: " in out
    assert f"trial {diverged}: skipped (oracle failed: trial {diverged}, dataset 'digits': " \
        "the train features hold NaN or Inf" in out
    report = json.loads((folder / "report" / "report.json").read_text())
    assert [t["number"] for t in report["trials"]] == [good]
    assert [s["number"] for s in report["study"]["skipped"]] == [broken, diverged]


def test_oracle_failing_on_every_trial_is_an_error(tmp_path, capsys) -> None:
    study, folder, overrides = new_study(tmp_path)
    for _ in range(2):
        number = add_trial(study, folder, "simclr", 0.3, metrics_for(20.0))
        shutil.rmtree(folder / f"trial_{number}" / "features")
    assert main(["compare", *overrides]) == 2
    assert "error: the oracle failed on every trial of 's1'; the first: oracle failed: " in \
        capsys.readouterr().err
    assert not (folder / "report").exists()


def test_bad_ood_entries_fail_before_any_work(tmp_path, capsys) -> None:
    study, folder, overrides = new_study(tmp_path)
    add_trial(study, folder, "simclr", 0.2, metrics_for(30.0))
    assert main(["compare", *overrides, "compare.ood=[{path: /x}]"]) == 2
    assert "compare.ood[0]" in capsys.readouterr().err
    assert not (folder / "report").exists()
