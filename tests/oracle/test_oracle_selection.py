"""Picks, gaps and rank correlations against values recomputed here."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from sweeper.oracle import (
    correlations,
    pick,
    rank_correlation,
    select_within,
    selection_by_axis,
    selection_by_method,
)
from sweeper.oracle.selection import axes_without_lines, selection_report, stopped_reason


def rows() -> list[dict]:
    return [
        {"number": 0, "method": "simclr", "params": {"t": 0.1, "lr": 1}, "rankme": 5.0,
         "alpha_req": 1.5, "val_acc": 0.70, "test_acc": 0.68},
        {"number": 1, "method": "simclr", "params": {"t": 0.2, "lr": 1}, "rankme": 9.0,
         "alpha_req": 0.9, "val_acc": 0.80, "test_acc": 0.79},
        {"number": 2, "method": "simclr", "params": {"t": 0.5, "lr": 1}, "rankme": 7.0,
         "alpha_req": None, "val_acc": 0.85, "test_acc": 0.82},
        {"number": 3, "method": "simclr", "params": {"t": 0.5, "lr": 2}, "rankme": 9.0,
         "alpha_req": 1.1, "val_acc": 0.60, "test_acc": 0.90},
        {"number": 4, "method": "vicreg", "params": {"t": 0.5, "lr": 2}, "rankme": 3.0,
         "alpha_req": 2.0, "val_acc": 0.50, "test_acc": 0.50},
    ]


def test_pick_directions_and_ties() -> None:
    r = rows()[:4]
    assert pick(r, "rankme", "max")["number"] == 1  # tie 1 vs 3: lowest number
    assert pick(r, "alpha_req", "min")["number"] == 1  # null (collapsed) never picked
    assert pick(r, "lidar", "max") is None
    with pytest.raises(ValueError, match="direction"):
        pick(r, "rankme", "up")


def test_select_within_gaps_use_the_oracle_test_accuracy() -> None:
    sel = select_within(rows()[:4], ["rankme", "alpha_req", "lidar"])
    assert sel["oracle"] == {"trial": 2, "val_acc": 0.85, "test_acc": 0.82}
    assert sel["rankme"]["trial"] == 1
    assert sel["rankme"]["gap"] == pytest.approx(0.82 - 0.79)
    assert sel["alpha_req"]["value"] == 0.9
    assert "lidar" not in sel
    with pytest.raises(ValueError, match="unknown metric"):
        select_within(rows(), ["rank_me"])


def test_selection_is_within_each_method() -> None:
    sel = selection_by_method(rows(), ["rankme"])
    assert set(sel) == {"simclr", "vicreg"}
    assert sel["vicreg"]["rankme"]["trial"] == 4
    assert sel["vicreg"]["rankme"]["gap"] == 0.0


def test_selection_along_an_axis_holds_the_other_params_fixed() -> None:
    axes = selection_by_axis(rows(), ["rankme"], ["t", "lr"])
    lines = axes["simclr"]["t"]
    assert len(lines) == 1 and lines[0]["fixed"] == {"lr": 1}
    assert lines[0]["trials"] == [0, 1, 2]
    assert lines[0]["selection"]["oracle"]["trial"] == 2
    lr_lines = axes["simclr"]["lr"]
    assert [line["trials"] for line in lr_lines] == [[2, 3]]
    assert axes["vicreg"] == {"t": [], "lr": []}


def test_rank_correlation_matches_scipy_and_brackets_it() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=40)
    y = x + rng.normal(size=40)
    out = rank_correlation(x, y, n_boot=500, seed=0)
    assert out["kendall_tau"] == pytest.approx(stats.kendalltau(x, y).statistic)
    assert out["spearman_rho"] == pytest.approx(stats.spearmanr(x, y).statistic)
    lo, hi = out["spearman_ci95"]
    assert -1 <= lo < out["spearman_rho"] < hi <= 1
    ref = stats.bootstrap((x, y), lambda a, b: stats.spearmanr(a, b).statistic,
                          paired=True, vectorized=False, n_resamples=500,
                          method="percentile", random_state=0).confidence_interval
    assert lo == pytest.approx(ref.low, abs=0.08)
    assert hi == pytest.approx(ref.high, abs=0.08)
    assert rank_correlation(x, y, n_boot=500, seed=0) == out


def test_rank_correlation_is_undefined_for_too_few_or_constant() -> None:
    assert rank_correlation([1.0, 2.0], [3.0, 4.0])["spearman_rho"] is None
    assert rank_correlation([1.0, 1.0, 1.0], [3.0, 4.0, 5.0])["kendall_tau"] is None
    with pytest.raises(ValueError, match="1-D"):
        rank_correlation([1.0, 2.0, 3.0], [1.0, 2.0])


def test_correlations_skip_undefined_values_per_method() -> None:
    corr = correlations(rows(), ["rankme", "alpha_req"], n_boot=200)
    simclr = [r for r in rows() if r["method"] == "simclr"]
    assert corr["simclr"]["rankme"]["spearman_rho"] == pytest.approx(
        stats.spearmanr([r["rankme"] for r in simclr],
                        [r["test_acc"] for r in simclr]).statistic)
    assert corr["simclr"]["alpha_req"]["n"] == 3
    assert corr["vicreg"]["rankme"]["n"] == 1


def stopped_rows() -> list[dict]:
    """simclr rows 0-3 finished; 5 pruned and 6 diverged, both the best by RankMe and by
    validation accuracy; vicreg 4 alone."""
    out = rows()
    out.insert(4, {"number": 5, "method": "simclr", "params": {"t": 0.3, "lr": 1},
                   "state": "PRUNED", "status": "pruned", "rankme": 20.0, "alpha_req": 0.1,
                   "val_acc": 0.95, "test_acc": 0.93})
    out.insert(5, {"number": 6, "method": "simclr", "params": {"t": 0.4, "lr": 1},
                   "state": "COMPLETE", "status": "diverged", "rankme": 15.0,
                   "alpha_req": 0.2, "val_acc": 0.90, "test_acc": 0.30})
    for row in out:
        row.setdefault("state", "COMPLETE")
        row.setdefault("status", "completed")
        row.setdefault("knn_val_acc", row["val_acc"])
        row.setdefault("knn_test_acc", row["test_acc"])
    return out


def report_of(rows_: list[dict], include_stopped: bool = False, metrics=("rankme", "alpha_req"),
              per_axis: bool = False) -> dict:
    return selection_report(rows_, list(metrics), datasets=[], include_stopped=include_stopped,
                            per_axis=per_axis, n_boot=100, seed=0)


@pytest.mark.parametrize(("state", "status", "expected"), [
    ("COMPLETE", "completed", None), ("PRUNED", "pruned", "pruned"),
    ("PRUNED", "completed", "pruned"), ("COMPLETE", "diverged", "diverged"),
    ("PRUNED", "diverged", "diverged"), ("COMPLETE", None, None)])
def test_stopped_reason_reads_the_state_and_the_training_status(state, status,
                                                                expected) -> None:
    assert stopped_reason({"state": state, "status": status}) == expected


def test_stopped_trials_are_left_out_of_selection_and_correlations_by_default() -> None:
    report = report_of(stopped_rows())
    assert report["stopped"] == {"included": False, "left_out": [5, 6], "trials": [
        {"number": 5, "reason": "pruned"}, {"number": 6, "reason": "diverged"}]}
    finished = [r for r in stopped_rows() if r["number"] not in (5, 6)]
    assert report["selection"] == selection_by_method(finished, ["rankme", "alpha_req"],
                                                      datasets=[])
    assert report["selection"]["simclr"]["oracle"]["trial"] == 2
    assert report["selection"]["simclr"]["rankme"]["trial"] == 1
    assert report["correlation"]["simclr"]["rankme"]["n"] == 4
    assert report["correlation_knn"]["simclr"]["rankme"]["n"] == 4
    assert report["mean_gap"]["rankme"] == pytest.approx((0.82 - 0.79 + 0.0) / 2)


def test_stopped_trials_are_selected_among_when_included() -> None:
    report = report_of(stopped_rows(), include_stopped=True)
    assert report["stopped"]["included"] is True and report["stopped"]["left_out"] == []
    assert [s["number"] for s in report["stopped"]["trials"]] == [5, 6]
    sel = report["selection"]["simclr"]
    assert sel["oracle"]["trial"] == 5 and sel["rankme"]["trial"] == 5
    assert sel["alpha_req"]["trial"] == 5
    assert report["correlation"]["simclr"]["rankme"]["n"] == 6


def test_a_method_whose_trials_all_stopped_is_named_in_a_note() -> None:
    r = stopped_rows()
    r[-1].update(state="PRUNED", status="pruned")  # vicreg's only trial
    report = report_of(r)
    assert "vicreg" not in report["selection"] and "vicreg" not in report["correlation"]
    assert ("vicreg: all 1 evaluated trial(s) stopped early and are left out: nothing "
            "selected (compare.include_stopped=true includes them)") in report["notes"]


def test_few_trials_left_after_leaving_out_the_stopped_ones_is_noted() -> None:
    r = [row for row in stopped_rows() if row["number"] not in (2, 3)]
    notes = report_of(r)["notes"]
    assert ("simclr: 2 evaluated trial(s) (2 stopped early left out); every criterion picks "
            "among 2, and rank correlations need at least 3 trials") in notes
    assert report_of(r, include_stopped=True)["notes"] == [
        "vicreg: 1 evaluated trial(s); every criterion picks among 1, and rank correlations "
        "need at least 3 trials"]


def test_metrics_without_values_are_left_out_with_a_note_only_when_recorded() -> None:
    """A metric a row records as None (measured, not finite) gets a note; one no row records
    (LiDAR that no training was asked to measure) is left out without one."""
    r = stopped_rows()
    for row in r:
        row["nesum"] = row["stable_rank"] = None
    report = report_of(r, metrics=("rankme", "lidar", "alpha_req", "nesum", "stable_rank"))
    assert report["metrics"] == ["rankme", "alpha_req"]
    assert report["metrics_without_values"] == ["nesum", "stable_rank"]
    assert report["metrics_not_recorded"] == ["lidar"]
    assert set(report["mean_gap"]) == {"rankme", "alpha_req"}
    assert all("lidar" not in per for per in report["correlation"].values())
    notes = [n for n in report["notes"] if "no value" in n]
    assert notes == ["NESum, Stable rank: no value in any evaluated trial; left out of the "
                     "tables and figures"]
    assert not any("LiDAR" in n for n in report["notes"])
    # nothing to select by at all: every metric asked for is named, recorded or not
    only = report_of(r, metrics=("lidar", "nesum"))
    assert only["metrics"] == [] and only["metrics_without_values"] == ["lidar", "nesum"]
    assert "LiDAR, NESum: no value in any evaluated trial; left out of the tables and " \
        "figures" in only["notes"]
    with pytest.raises(ValueError, match="unknown metric"):
        report_of(stopped_rows(), metrics=("rank_me",))


def test_per_axis_selection_leaves_stopped_trials_out_and_says_why_an_axis_has_no_line(
) -> None:
    report = report_of(stopped_rows(), per_axis=True)
    assert [line["trials"] for line in report["selection_by_axis"]["simclr"]["t"]] == \
        [[0, 1, 2]]
    assert report_of(stopped_rows(), per_axis=True, include_stopped=True)[
        "selection_by_axis"]["simclr"]["t"][0]["trials"] == [0, 1, 2, 5, 6]
    assert report["axes_without_lines"] == {"vicreg": {
        "lr": "one value, 2, in 1 trial(s): nothing to compare along it",
        "t": "one value, 0.5, in 1 trial(s): nothing to compare along it"}}
    joint = [{"number": i, "method": "simclr", "params": {"a": float(i), "b": 2.0 * i},
              "rankme": 1.0 + i, "val_acc": 0.5, "test_acc": 0.5} for i in range(3)]
    assert axes_without_lines(joint, ["a", "b", "c"])["simclr"]["a"].startswith(
        "3 values, but no two trials that differ in it share every other param")
    assert "c" not in axes_without_lines(joint, ["a", "b", "c"])["simclr"]
