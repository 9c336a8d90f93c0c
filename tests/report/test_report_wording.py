"""The report's words in every format (terminal, report.md, report.html, the PNG figures'
text): each gap's sign and its size in test images, which way each criterion picks, notes
only for the metrics the trials recorded, which trials used which bank, paths as given, and
every figure's text inside its frame."""

from __future__ import annotations

import doctest
import html
from pathlib import Path
from typing import Any

import pytest
from matplotlib.figure import Figure
from matplotlib.text import Text

from sweeper.cli import main
from sweeper.oracle.selection import selection_report
from sweeper.report import figures, legend, write_report
from sweeper.report.legend import GAP_KEY, picks_line, ran_in_note, shown_path
from sweeper.report.tables import bank_line, selection_table
from tests.report.study_builder import add_trial, metrics_for, new_study

N_TEST = 360
GAPS = {("byol", "RankMe"): "+0.56 (= +2 of 360 test images)",  # 2 images fewer right
        ("byol", "alpha-ReQ"): "-1.39 (= -5 of 360 test images)",  # 5 more than the oracle's
        ("simclr", "RankMe"): "0.00 (= 0 of 360 test images)"}  # the oracle's own pick


def row(number: int, method: str, correct: int, rankme: float, alpha: float, val_acc: float,
        bank: int = 500, state: str = "COMPLETE") -> dict[str, Any]:
    """One report row as compare writes it for a run that measured no LiDAR (no key)."""
    acc = correct / N_TEST
    return {"number": number, "method": method, "state": state,
            "status": "pruned" if state == "PRUNED" else "completed",
            "params": {"optimizer.lr": 0.1 * (number + 1)}, "rankme": rankme,
            "alpha_req": alpha, "val_acc": val_acc, "test_acc": acc, "knn_val_acc": val_acc,
            "knn_test_acc": acc, "objective_bank_size": bank, "monitor_bank_size": 192,
            "datasets": {"digits": {"test_acc": acc, "knn_test_acc": acc, "n_test": N_TEST}},
            "history": [{"epoch": e, "rankme": rankme * e / 2} for e in (1, 2)]}


def report() -> dict[str, Any]:
    """byol: the oracle picks trial 0, RankMe the highest (1, a positive gap), alpha-ReQ the
    lowest (2, a negative gap); simclr: RankMe picks the oracle's trial 3 (no gap); trial 4
    measured on 192 images; pruned trials 5-20, a long caption under the table's image."""
    rows = [row(0, "byol", 340, 10.0, 1.0, 0.99), row(1, "byol", 338, 12.0, 2.0, 0.95),
            row(2, "byol", 345, 8.0, 0.5, 0.90), row(3, "simclr", 330, 12.0, 1.0, 0.99),
            row(4, "simclr", 320, 8.0, 1.5, 0.90, bank=192)]
    rows += [row(n, "byol", 300, 50.0, 0.1, 0.999, state="PRUNED") for n in range(5, 21)]
    selected = selection_report(rows, ["rankme", "alpha_req", "lidar"], datasets=["digits"],
                                include_stopped=False, per_axis=False, n_boot=20, seed=0)
    return {"study": {"name": "s", "storage": "sqlite:///sweeps/s/study.db",
                      "ran_in": "/home/u/work", "n_trials": len(rows),
                      "n_evaluated": len(rows), "skipped": []},
            "datasets": [{"name": "digits", "in_domain": True, "note": None}],
            "trials": rows, **selected}


def flat(text: str) -> str:
    """Whitespace (a wrapped line's breaks) as single spaces."""
    return " ".join(text.split())


def test_gap_cells_carry_their_sign_and_test_images_for_each_kind_of_gap() -> None:
    header, rows = selection_table(report())
    gaps = {(r[0], r[1]): r[header.index("Gap (pts)")] for r in rows}
    assert {k: gaps[k] for k in GAPS} == GAPS
    picks = {(r[0], r[1]): r[header.index("Trial")] for r in rows}
    assert picks["byol", "RankMe"] == "1" and picks["byol", "alpha-ReQ"] == "2"  # the lowest


def test_notes_only_for_the_metrics_the_trials_recorded() -> None:
    data = report()
    assert data["metrics"] == ["rankme", "alpha_req"]
    assert data["metrics_not_recorded"] == ["lidar"]
    assert not any("LiDAR" in n or "no value" in n for n in data["notes"])
    for r in data["trials"]:
        r["lidar"] = None  # measured, never finite: that is worth a note
    again = selection_report(data["trials"], ["rankme", "lidar"], datasets=["digits"],
                             include_stopped=False, per_axis=False, n_boot=20, seed=0)
    assert again["notes"][0] == ("LiDAR: no value in any evaluated trial; left out of the "
                                 "tables and figures")


def test_every_format_says_the_gap_sign_the_directions_the_banks_and_the_paths(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    drawn: dict[str, list[str]] = {}
    save = figures.save_png

    def keep(fig: Figure, path: Path) -> Path:
        fig.canvas.draw()
        drawn[path.name] = [t.get_text() for t in fig.findobj(Text) if t.get_visible()] + [
            cell.get_text().get_text() for ax in fig.axes for table in ax.tables
            for cell in table.get_celld().values()]
        # all that is drawn lies inside the figure's own frame (inches), so the tight crop
        # of save_png cuts nothing and adds nothing
        used, (width, height) = fig.get_tightbbox(), fig.get_size_inches()
        assert (used.x0 >= -0.01 and used.y0 >= -0.01 and used.x1 <= width + 0.01
                and used.y1 <= height + 0.01), (path.name, used, width, height)
        return save(fig, path)

    monkeypatch.setattr(figures, "save_png", keep)
    monkeypatch.chdir(tmp_path)
    terminal: list[str] = []
    data = report()
    paths = write_report(data, Path("out"), echo=terminal.append)
    assert set(drawn) == {"rankme_vs_accuracy.png", "rankme_over_epochs.png",
                          "selection_table.png"}
    picks = picks_line(data)
    assert picks == ("Each criterion picks one trial per method: Oracle (val acc) the highest "
                     "validation accuracy; RankMe the highest value; alpha-ReQ the lowest "
                     "value.")
    formats = {"terminal": "\n".join(terminal), "md": paths["md"].read_text(),
               "html": html.unescape(paths["html"].read_text()),
               "png": "\n".join(drawn["selection_table.png"])}
    for name, text in formats.items():
        for gap in GAPS.values():
            assert gap in text, (name, gap)
        assert flat(GAP_KEY) in flat(text), name
        assert flat(picks) in flat(text), name
        assert "LiDAR" not in text, name
    assert "Stopped early, left out of the selection: 5 (pruned), 6 (pruned)" in \
        flat(formats["png"])
    banks = bank_line(data)
    assert "on 500 (trials 0-3, 5-20) or 192 (trial 4) un-augmented training images" in banks
    assert banks.endswith("the per-epoch values the pruner read used 192.")
    shown = {"md": "`sqlite:///sweeps/s/study.db` (as given; compare ran in /home/u/work)",
             "html": "<code>sqlite:///sweeps/s/study.db</code> (as given; compare ran in "
                     "/home/u/work)"}
    for name, storage in shown.items():
        assert banks in formats[name] and storage in formats[name]
    assert terminal[-1] == "report: out/report.html"  # as sweep.dir is given: relative


def test_paths_are_shown_as_given_relative_inside_the_current_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path / "..")
    inside = tmp_path.resolve() / "a" / "report.html"
    assert shown_path(inside) == f"{tmp_path.name}/a/report.html"
    assert shown_path(Path("/elsewhere/report.html")) == "/elsewhere/report.html"
    assert ran_in_note({"storage": "postgresql+psycopg://u:***@h/db"}) == ""
    assert doctest.testmod(legend).failed == 0


def test_compare_shows_the_storage_and_report_paths_as_given(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """A study under the current folder, named by a relative SQLite URL: the terminal and the
    page show both paths in that form; no trial measured LiDAR, so no note about it."""
    monkeypatch.chdir(tmp_path)
    study, folder, overrides = new_study(tmp_path, url="sqlite:///sweeps/s1/study.db")
    for noise in (0.1, 0.6, 0.3):
        add_trial(study, folder, "simclr", noise, metrics_for(60.0 / (1 + noise)))
    assert main(["compare", *overrides]) == 0
    out = capsys.readouterr().out
    assert out.rstrip().splitlines()[-1] == "report: sweeps/s1/report/report.html"
    page = html.unescape((folder / "report" / "report.html").read_text())
    assert f"<code>sqlite:///sweeps/s1/study.db</code> (as given; compare ran in {tmp_path})" \
        in page
    md = (folder / "report" / "report.md").read_text()
    assert "LiDAR" not in out + md + page
    assert GAP_KEY in out and GAP_KEY in md
    assert "alpha-ReQ the lowest value" in out
