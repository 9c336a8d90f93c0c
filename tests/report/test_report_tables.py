"""The report's tables and figures on a hand-built report: one unit (percent), gaps counted in
test images when they are a few, trials stopped early marked everywhere."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from matplotlib.figure import Figure

from sweeper.oracle.selection import selection_report
from sweeper.report import figures
from sweeper.report.html import render_html
from sweeper.report.tables import (
    axis_notes,
    axis_table,
    correlation_table,
    selection_table,
    stopped_caption,
    stopped_line,
    trial_cell,
    trials_table,
)

N_TEST = 360


def trial(number: int, correct: int, rankme: float, val_acc: float, state: str = "COMPLETE",
          status: str = "completed", lr: float | None = None) -> dict[str, Any]:
    """One row as compare writes it; ``correct`` of the 360 digits test images."""
    test_acc = correct / N_TEST
    return {"number": number, "method": "simclr", "state": state, "status": status,
            "params": {"optimizer.lr": 0.1 * (number + 1) if lr is None else lr},
            "rankme": rankme, "lidar": None, "val_acc": val_acc, "test_acc": test_acc,
            "knn_val_acc": val_acc, "knn_test_acc": test_acc, "objective_bank_size": 500,
            "datasets": {"digits": {"test_acc": test_acc, "knn_test_acc": test_acc,
                                    "n_test": N_TEST}},
            "history": [{"epoch": e, "rankme": rankme * (e + 1) / 4}
                        for e in range(2 if state == "PRUNED" else 4)]}


def build(rows: list[dict[str, Any]], include_stopped: bool = False,
          per_axis: bool = False) -> dict[str, Any]:
    selected = selection_report(rows, ["rankme", "lidar"], datasets=["digits"],
                                include_stopped=include_stopped, per_axis=per_axis,
                                n_boot=50, seed=0)
    return {"study": {"name": "s", "storage": "sqlite:///s.db", "n_trials": len(rows),
                      "n_evaluated": len(rows), "skipped": []},
            "datasets": [{"name": "digits", "in_domain": True, "note": None}],
            "trials": rows, **selected}


def rows() -> list[dict[str, Any]]:
    """Oracle: trial 0 (340 correct); RankMe: trial 1, two images fewer; trial 3 pruned
    with the highest RankMe and validation accuracy; trial 4 diverged."""
    return [trial(0, 340, 10.0, 0.99), trial(1, 338, 12.0, 0.95), trial(2, 300, 8.0, 0.90),
            trial(3, 350, 30.0, 0.999, state="PRUNED", status="pruned"),
            trial(4, 36, 2.0, 0.10, status="diverged")]


def column(header: list[str], table: list[list[str]], name: str) -> list[str]:
    return [row[header.index(name)] for row in table]


def test_accuracies_are_percent_in_every_table() -> None:
    report = build(rows())
    header, table = selection_table(report)
    assert header[3:7] == ["Metric value", "val %", "digits test %", "Gap (pts)"]
    oracle, rankme = table
    # the oracle's own value is its validation accuracy: in the val % column, as a percent
    assert oracle[3] == "-" and oracle[4] == "99.00" and oracle[5] == "94.44"
    assert rankme[3] == "12" and rankme[4] == "95.00" and rankme[5] == "93.89"
    header, table = trials_table(report)
    for name in ("val %", "test %", "kNN test %"):
        assert all(1.0 <= float(cell) <= 100.0 for cell in column(header, table, name))
    report = build([*rows(), trial(5, 345, 11.0, 0.98, lr=0.1)], per_axis=True)
    _, (line,) = axis_table(report)
    assert line[4] == "0.1 (#0, 94.44%)"


def test_every_gap_names_its_test_images_and_the_test_set_size() -> None:
    report = build(rows())
    gap = column(*selection_table(report), "Gap (pts)")
    assert gap == ["-", "+0.56 (= +2 of 360 test images)"]
    wide = build([trial(0, 340, 10.0, 0.99), trial(1, 320, 12.0, 0.95)])
    assert column(*selection_table(wide), "Gap (pts)")[1] == "+5.56 (= +20 of 360 test images)"
    same = build([trial(0, 340, 10.0, 0.99), trial(1, 340, 9.0, 0.95)])
    assert column(*selection_table(same), "Gap (pts)")[1] == "0.00 (= 0 of 360 test images)"


def test_stopped_trials_are_left_out_and_marked_by_default() -> None:
    report = build(rows())
    assert column(*selection_table(report), "Trial") == ["0", "1"]
    assert column(*trials_table(report), "Run") == [
        "completed", "completed", "completed", "pruned, left out", "diverged, left out"]
    header, table = correlation_table(report)
    assert column(header, table, "n") == ["3"] and column(header, table, "Stopped") == \
        ["2 left out"]
    assert trial_cell(report, 3) == "3 (pruned)" and trial_cell(report, 0) == "0"
    assert stopped_line(report) == (
        "Trials stopped early (Optuna state PRUNED, or training status pruned or diverged) "
        "are left out of the selection and the correlations; they stay in the tables and "
        "figures, marked: 2 of 5 evaluated trials left out: 3 (pruned), 4 (diverged). "
        "compare.include_stopped=true includes them.")
    assert stopped_caption(report) == \
        "Stopped early, left out of the selection: 3 (pruned), 4 (diverged)"
    assert stopped_caption(build(rows()[:3])) == ""


def test_stopped_trials_included_are_marked_where_picked() -> None:
    report = build(rows(), include_stopped=True)
    assert column(*selection_table(report), "Trial") == ["3 (pruned)", "3 (pruned)"]
    assert column(*trials_table(report), "Run")[3:] == ["pruned, included",
                                                        "diverged, included"]
    assert column(*correlation_table(report), "n") == ["5"]
    assert stopped_line(report).startswith(
        "Trials stopped early (Optuna state PRUNED, or training status pruned or diverged) "
        "are included in the selection and the correlations (compare.include_stopped=true): "
        "2 of 5 evaluated trials, marked")
    no_stop = build(rows()[:3])
    assert stopped_line(no_stop).endswith(": none among the evaluated trials.")
    no_stop["study"]["skipped"] = [
        {"number": 7, "state": "PRUNED", "stopped": "diverged",
         "reason": "diverged (loss inf in epoch 1, step 10) before any checkpoint"},
        {"number": 8, "state": "FAIL", "stopped": None, "reason": "state FAIL"}]
    assert stopped_line(no_stop).endswith(
        ": none among the evaluated trials. 1 more stopped before their first checkpoint and "
        "have no features to probe, so no accuracy: 7 (diverged).")


def test_metric_without_values_is_not_a_column() -> None:
    report = build(rows())
    assert report["metrics"] == ["rankme"]
    assert "LiDAR" not in trials_table(report)[0]
    assert "LiDAR" not in column(*selection_table(report), "Criterion")
    assert report["notes"] == ["LiDAR: no value in any evaluated trial; left out of the "
                               "tables and figures"]


def test_an_axis_without_a_line_is_explained() -> None:
    joint = [trial(i, 300 + i, 10.0 + i, 0.9) for i in range(3)]
    for row in joint:
        row["params"]["optimizer.weight_decay"] = row["params"]["optimizer.lr"] / 10
    report = build(joint, per_axis=True)
    assert axis_table(report)[1] == []
    notes = axis_notes(report)
    assert len(notes) == 2 and notes[0].startswith(
        "simclr, optimizer.lr: no line to select along: 3 values, but no two trials")
    page = render_html(report, {})
    assert "Along each swept axis" in page and "no line to select along" in page


def test_html_greys_the_stopped_trials() -> None:
    page = render_html(build(rows()), {})
    assert page.count('<tr class="stopped">') == 2
    assert "left out of the selection and the correlations" in page


@pytest.fixture
def drawn(monkeypatch: pytest.MonkeyPatch) -> list[Figure]:
    """The figures the report functions draw, kept open instead of saved."""
    kept: list[Figure] = []
    monkeypatch.setattr(figures, "save_png", lambda fig, path: kept.append(fig) or path)
    return kept


def test_epochs_figure_has_a_colour_bar_and_draws_stopped_runs_on_top(drawn) -> None:
    figures.rankme_over_epochs(build(rows()), Path("unused.png"))
    (fig,) = drawn
    panel, bar = fig.axes
    assert bar.get_ylabel() == "digits linear-probe test acc (%)"
    assert panel.get_xlabel() == "epoch" and panel.get_ylabel() == "RankMe (effective rank)"
    solid = [ln for ln in panel.get_lines() if ln.get_linestyle() == "-"]
    dashed = [ln for ln in panel.get_lines() if ln.get_linestyle() in ("--", ":")]
    assert len(solid) == 3 and len(dashed) == 2
    assert min(ln.get_zorder() for ln in dashed) > max(ln.get_zorder() for ln in solid)
    labels = [t.get_text() for t in panel.get_legend().get_texts()]
    assert labels == ["trained to the end", "diverged (left out); marker: last epoch",
                      "pruned (left out); marker: last epoch"]


def test_accuracy_figure_marks_stopped_trials_and_counts_test_images(drawn) -> None:
    figures.rankme_vs_accuracy(build(rows()), Path("unused.png"))
    (fig,) = drawn
    panel = fig.axes[0]
    assert panel.get_ylabel() == "digits linear-probe test accuracy (%)"
    labels = [t.get_text() for t in panel.get_legend().get_texts()]
    assert labels == ["trained to the end", "pruned (left out)", "diverged (left out)",
                      "oracle pick (val acc)", "RankMe pick"]
    right = [ax for ax in panel.child_axes if ax.get_ylabel()]
    assert [ax.get_ylabel() for ax in right] == ["correct test images (of 360)"]
