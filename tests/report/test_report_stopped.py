"""`compare` on a study with pruned and diverged trials: left out of the selection and the
correlations by default, marked in every table and figure, included when configured."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from optuna.trial import TrialState

from sweeper.cli import main
from tests.report.study_builder import add_trial, metrics_for, new_study


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """simclr: trials 0-3 trained to the end; 4 pruned after 1 epoch with the cleanest
    features and the highest RankMe; 5 diverged. vicreg: trials 6-8. No trial records lidar."""
    study, folder, overrides = new_study(tmp_path_factory.mktemp("stopped"))
    for noise in (0.1, 0.6, 0.3, 1.2):
        add_trial(study, folder, "simclr", noise, metrics_for(60.0 / (1 + noise)))
    add_trial(study, folder, "simclr", 0.01, {**metrics_for(90.0), "status": "pruned"},
              state=TrialState.PRUNED, history_len=1)
    add_trial(study, folder, "simclr", 2.0, {**metrics_for(3.0), "status": "diverged"})
    for noise in (0.1, 0.9, 0.4):
        add_trial(study, folder, "vicreg", noise, metrics_for(60.0 / (1 + noise)))
    return folder, overrides


def compare(study: tuple[Path, list[str]], capsys: pytest.CaptureFixture[str],
            *extra: str) -> tuple[dict[str, Any], str, str]:
    folder, overrides = study
    assert main(["compare", *overrides, *extra]) == 0
    out = capsys.readouterr().out
    return (json.loads((folder / "report" / "report.json").read_text()), out,
            (folder / "report" / "report.md").read_text())


def test_stopped_trials_are_left_out_and_marked_by_default(study, capsys) -> None:
    report, out, md = compare(study, capsys)
    assert report["stopped"] == {"included": False, "left_out": [4, 5], "trials": [
        {"number": 4, "reason": "pruned"}, {"number": 5, "reason": "diverged"}]}
    assert len(report["trials"]) == 9  # all evaluated, all in the report
    for key in ("selection", "selection_knn"):
        picks = {p["trial"] for p in report[key]["simclr"].values()}
        assert picks <= {0, 1, 2, 3}
    assert report["selection"]["simclr"]["rankme"]["trial"] == 0
    assert all(c["n"] == 4 for c in report["correlation"]["simclr"].values())
    rule = ("Trials stopped early (Optuna state PRUNED, or training status pruned or "
            "diverged) are left out of the selection and the correlations; they stay in the "
            "tables and figures, marked: 2 of 9 evaluated trials left out: 4 (pruned), "
            "5 (diverged). compare.include_stopped=true includes them.")
    assert rule in out and f"**{rule}**" in md
    assert "| 4 | simclr | pruned, left out |" in md
    assert "| 5 | simclr | diverged, left out |" in md
    assert "| simclr | RankMe | 4 | 2 left out |" in md  # the correlation table
    page = (study[0] / "report" / "report.html").read_text()
    assert page.count('<tr class="stopped">') == 2 and rule in page


def test_stopped_trials_are_selected_among_when_configured(study, capsys) -> None:
    report, out, md = compare(study, capsys, "compare.include_stopped=true")
    assert report["stopped"]["included"] is True and report["stopped"]["left_out"] == []
    assert report["selection"]["simclr"]["rankme"]["trial"] == 4
    assert all(c["n"] == 6 for c in report["correlation"]["simclr"].values())
    assert "are included in the selection and the correlations (compare.include_stopped=" \
        "true)" in out
    assert re.search(r"\| simclr \| RankMe \| 4 \(pruned\) \| 90 \|", md)
    assert "| 4 | simclr | pruned, included |" in md


def test_accuracies_are_percent_and_empty_metrics_left_out(study, capsys) -> None:
    report, _, md = compare(study, capsys)
    assert report["metrics"] == ["rankme", "rankme_projector", "alpha_req", "nesum",
                                 "stable_rank"]
    # no trial was asked to measure LiDAR (no key in any metrics.json): left out, no note
    assert report["metrics_without_values"] == [] and "lidar" in report["metrics_not_recorded"]
    assert "LiDAR" not in md and not any("LiDAR" in n for n in report["notes"])
    oracle = report["selection"]["simclr"]["oracle"]
    row = next(line for line in md.splitlines()
               if line.startswith("| simclr | Oracle (val acc) |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[3:6] == ["-", f"{100 * oracle['val_acc']:.2f}",
                          f"{100 * oracle['test_acc']:.2f}"]


def test_per_axis_explains_an_axis_without_a_line(tmp_path, capsys) -> None:
    study, folder, overrides = new_study(tmp_path)
    for i, noise in enumerate((0.1, 0.5, 0.9)):
        add_trial(study, folder, "simclr", noise, metrics_for(60.0 / (1 + noise)),
                  params={"optimizer.lr": 0.1 * (i + 1), "optimizer.weight_decay": 1e-4 * i})
    assert main(["compare", *overrides, "compare.per_axis=true"]) == 0
    md = (folder / "report" / "report.md").read_text()
    section = md.split("## Along each swept axis (the other params fixed)")[1].split("##")[0]
    assert "| Method |" not in section  # no line on any axis: no empty table
    assert "> simclr, optimizer.lr: no line to select along: 3 values, but no two trials " \
        "that differ in it share every other param" in section
    assert "> simclr, optimizer.weight_decay: no line to select along" in section
