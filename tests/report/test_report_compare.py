"""`compare` end to end on real SQLite studies: report.json against values recomputed here."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import optuna
import pytest
from optuna.trial import TrialState
from scipy import stats

from sweeper.cli import main
from sweeper.commands.compare import run_compare
from sweeper.config import compose_config
from tests.report.study_builder import add_trial, metrics_for, new_study


@pytest.fixture(scope="module")
def compared(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path, list[str], str]:
    study, folder, overrides = new_study(tmp_path_factory.mktemp("cmp"))
    for method, noises in (("simclr", [0.05, 0.6, 0.3, 1.2]), ("vicreg", [0.1, 0.9, 0.4])):
        for noise in noises:
            add_trial(study, folder, method, noise,
                      metrics_for(60.0 / (1 + noise), extra=["lidar"] if method == "vicreg"
                                  else ()))
    add_trial(study, folder, "simclr", 0.2, None, state=TrialState.FAIL)
    lines: list[str] = []
    cfg = compose_config([*overrides, "compare.per_axis=true"], config_name="compare")
    paths = run_compare(cfg, echo=lines.append)
    report = json.loads(paths["json"].read_text())
    return report, folder, overrides, "\n".join(lines)


def test_report_files_sit_in_the_study_folder(compared) -> None:
    report, folder, _, printed = compared
    out = folder / "report"
    for name in ("report.json", "report.md", "report.html", "rankme_vs_accuracy.png",
                 "rankme_over_epochs.png", "selection_table.png"):
        assert (out / name).is_file(), name
    assert (out / "rankme_vs_accuracy.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert printed.rstrip().endswith(f"report: {(out / 'report.html').resolve()}")
    assert "RankMe" in printed and "Oracle (val acc)" in printed
    assert report["study"]["n_trials"] == 8 and report["study"]["n_evaluated"] == 7
    assert report["study"]["skipped"][0]["number"] == 7


def test_trials_hold_fractions_and_match_the_stored_user_attrs(compared) -> None:
    report, _, overrides, _ = compared
    stored = optuna.load_study(study_name="s1", storage=overrides[1].split("=", 1)[1])
    attrs = {t.number: t.user_attrs for t in stored.trials}
    for t in report["trials"]:
        for key in ("val_acc", "test_acc", "knn_val_acc", "knn_test_acc"):
            assert 0.0 <= t[key] <= 1.0
        assert attrs[t["number"]]["oracle_test_acc"] == t["test_acc"]
        assert attrs[t["number"]]["oracle_val_acc"] == t["val_acc"]
        assert attrs[t["number"]]["oracle_knn_test_acc"] == t["knn_test_acc"]
        assert t["params"] == stored.trials[t["number"]].params
    assert "oracle_test_acc" not in attrs[7]
    # noise ruins accuracy: the cleanest simclr trial beats the noisiest one
    acc = {t["number"]: t["test_acc"] for t in report["trials"]}
    assert acc[0] > acc[3] + 0.1


def test_picks_and_gaps_match_a_recomputation(compared) -> None:
    report = compared[0]
    for method in ("simclr", "vicreg"):
        trials = [t for t in report["trials"] if t["method"] == method]
        sel = report["selection"][method]
        oracle = max(trials, key=lambda t: (t["val_acc"], -t["number"]))
        assert sel["oracle"]["trial"] == oracle["number"]
        assert sel["oracle"]["test_acc"] == oracle["test_acc"]
        for metric, choose in (("rankme", max), ("nesum", max), ("stable_rank", max),
                               ("rankme_projector", max), ("alpha_req", min)):
            best = choose(trials, key=lambda t, m=metric: t[m])
            assert sel[metric]["trial"] == best["number"]
            assert sel[metric]["gap"] == pytest.approx(oracle["test_acc"] - best["test_acc"])
        knn_oracle = max(trials, key=lambda t: (t["knn_val_acc"], -t["number"]))
        assert report["selection_knn"][method]["oracle"]["trial"] == knn_oracle["number"]
    gaps = [report["selection"][m]["rankme"]["gap"] for m in ("simclr", "vicreg")]
    assert report["mean_gap"]["rankme"] == pytest.approx(sum(gaps) / 2)
    assert report["mean_gap"]["lidar"] == report["selection"]["vicreg"]["lidar"]["gap"]
    assert "lidar" in report["selection"]["vicreg"]
    assert "lidar" not in report["selection"]["simclr"]


def test_correlations_match_scipy(compared) -> None:
    report = compared[0]
    for method, per_metric in report["correlation"].items():
        trials = [t for t in report["trials"] if t["method"] == method]
        for metric, c in per_metric.items():
            xs = np.array([t[metric] for t in trials])
            ys = np.array([t["test_acc"] for t in trials])
            assert c["n"] == len(trials)
            assert c["kendall_tau"] == pytest.approx(stats.kendalltau(xs, ys).statistic)
            assert c["spearman_rho"] == pytest.approx(stats.spearmanr(xs, ys).statistic)
            lo, hi = c["spearman_ci95"]
            assert -1.0 <= lo <= hi <= 1.0


def test_per_axis_lines_cover_the_swept_param(compared) -> None:
    axis = compared[0]["selection_by_axis"]["simclr"]["optimizer.lr"]
    assert [line["trials"] for line in axis] == [[0, 1, 2, 3]]


def test_html_is_self_contained(compared) -> None:
    folder = compared[1]
    page = (folder / "report" / "report.html").read_text()
    assert not re.search(r"https?://", page)
    assert "href=" not in page and "@import" not in page and "url(" not in page
    sources = re.findall(r'src="([^"]*)"', page)
    assert len(sources) == 3
    assert all(s.startswith("data:image/png;base64,") for s in sources)


def test_markdown_holds_the_tables(compared) -> None:
    md = (compared[1] / "report" / "report.md").read_text()
    assert "| simclr | RankMe |" in md
    assert "![RankMe vs accuracy (paper Figure 1)](rankme_vs_accuracy.png)" in md
    report = compared[0]
    line = report["selection_by_axis"]["simclr"]["optimizer.lr"][0]["selection"]
    n_test = report["trials"][0]["datasets"]["digits"]["n_test"]
    images = round(line["rankme"]["gap"] * n_test)
    gap = (f"{100 * line['rankme']['gap']:+.2f} (= {images:+d}" if images else "0.00 (= 0") + \
        f" of {n_test} test images)"
    assert "| simclr | optimizer.lr |  | 4 |" in md and md.count(f"| {gap} |") >= 1
    trials = md.split("## Trials")[1].split("## Skipped trials")[0]
    trial_rows = [r for r in trials.splitlines() if r.startswith("|")][2:]
    assert [row.split(" | ")[0] for row in trial_rows] == [f"| {n}" for n in range(7)]
    assert "## Skipped trials" in md  # the fixture's skipped trial, with its reason


def test_cli_compare_reuses_the_cached_features(compared, capsys) -> None:
    _, folder, overrides, _ = compared
    assert main(["compare", *overrides]) == 0
    out = capsys.readouterr().out
    assert "trial 0 (simclr)" in out and "report:" in out.splitlines()[-1]
    assert sorted(p.name for p in (folder / "trial_0" / "features" / "digits").iterdir()) == \
        ["test.npz", "train.npz"]
