"""The combined criterion (mean rank of RankMe and LiDAR) against a hand computation."""

from __future__ import annotations

from typing import Any

import pytest

from sweeper.oracle.selection import selection_report
from sweeper.report.tables import selection_table


def _row(number: int, rankme: float, lidar: float | None, test_acc: float,
         method: str = "vicreg") -> dict[str, Any]:
    row = {"number": number, "method": method, "params": {"optimizer.lr": 0.1 * number},
           "state": "COMPLETE", "status": "completed", "rankme": rankme,
           "val_acc": test_acc, "test_acc": test_acc, "knn_val_acc": test_acc,
           "knn_test_acc": test_acc}
    if lidar is not None:
        row["lidar"] = lidar
    return row


def _report(rows: list[dict[str, Any]], metrics: list[str]) -> dict[str, Any]:
    return selection_report(rows, metrics, datasets=["d"], include_stopped=False,
                            per_axis=False, n_boot=50, seed=0)


def test_mean_rank_matches_a_hand_computation_with_ties() -> None:
    # RankMe (higher is better): 30, 20, 20, 10 -> ranks 1, 2.5, 2.5, 4
    # LiDAR  (higher is better):  5,  9,  7,  8 -> ranks 4, 1, 3, 2
    # mean ranks:                                 2.5, 1.75, 2.75, 3.0 -> trial 1 is picked
    rows = [_row(0, 30.0, 5.0, 0.50), _row(1, 20.0, 9.0, 0.60), _row(2, 20.0, 7.0, 0.55),
            _row(3, 10.0, 8.0, 0.40), _row(4, 25.0, 6.0, 0.45, method="simclr")]
    report = _report(rows, ["rankme", "lidar"])
    assert report["metrics"] == ["rankme", "lidar", "mean_rank"]
    pick = report["selection"]["vicreg"]["mean_rank"]
    assert (pick["trial"], pick["value"]) == (1, 1.75)
    assert pick["gap"] == pytest.approx(0.0)  # the oracle's pick too (val acc 0.60)
    assert report["selection"]["vicreg"]["rankme"]["trial"] == 0
    # ranked within a method: simclr's one trial has rank 1 by both
    assert report["selection"]["simclr"]["mean_rank"]["value"] == 1.0
    # the rank correlation is over the four mean ranks (lower is better: negative)
    assert report["correlation"]["vicreg"]["mean_rank"]["n"] == 4
    _, table = selection_table({**report, "datasets": [{"name": "d"}], "trials": rows})
    assert ["vicreg", "Mean rank (RankMe, LiDAR)", "1", "1.75"] in [r[:4] for r in table]


def test_mean_rank_leaves_out_trials_missing_a_part_and_is_absent_without_lidar() -> None:
    rows = [_row(0, 30.0, None, 0.5), _row(1, 20.0, 9.0, 0.6), _row(2, 10.0, 1.0, 0.4)]
    report = _report(rows, ["rankme", "lidar"])
    # among trials 1 and 2 only: 1 has rank 1 by both
    assert report["selection"]["vicreg"]["mean_rank"]["value"] == 1.0
    assert report["selection"]["vicreg"]["mean_rank"]["trial"] == 1
    without = _report([_row(0, 30.0, None, 0.5), _row(1, 20.0, None, 0.6)], ["rankme"])
    assert without["metrics"] == ["rankme"] and "mean_rank" not in without["selection"]["vicreg"]
