"""Write a comparison report: report.json, report.md, report.html and PNG figures."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from sweeper.report.figures import rankme_over_epochs, rankme_vs_accuracy, table_figure
from sweeper.report.html import render_html
from sweeper.report.legend import (
    gap_key,
    picks_line,
    ran_in_note,
    selection_caption,
    shown_path,
)
from sweeper.report.points import points_table
from sweeper.report.tables import (
    axis_notes,
    axis_table,
    bank_line,
    correlation_table,
    markdown,
    mean_gap_line,
    selection_table,
    stopped_line,
    trials_table,
)

__all__ = ["print_selection", "write_report"]


def _jsonable(value: Any) -> Any:
    """JSON has no NaN/Infinity: non-finite floats become null; keys become strings."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def _markdown_report(report: Mapping[str, Any], figures: Mapping[str, Path]) -> str:
    study = report["study"]
    lines = [f"# Study `{study['name']}`", "",
             f"{study['n_evaluated']} of {study['n_trials']} trials evaluated; storage "
             f"`{study['storage']}`{ran_in_note(study)}. Accuracies in percent (linear "
             "probe on frozen features; settings chosen on a validation split carved from "
             "train). Metric value: the criterion's own value.", "",
             bank_line(report), "", f"**{stopped_line(report)}**", ""]
    lines += [f"> {n}" for n in report["notes"]] + [""]
    key = [picks_line(report), "", gap_key(report), ""]
    lines += ["## Selection (linear probe)", "", markdown(*selection_table(report)), "",
              *key, mean_gap_line(report), "",
              "## Selection (kNN)", "", markdown(*selection_table(report, "selection_knn")), "",
              *key,
              "## Rank correlation with test accuracy", "",
              markdown(*correlation_table(report)), ""]
    if "selection_by_axis" in report:
        lines += ["## Along each swept axis (the other params fixed)", ""]
        header, rows = axis_table(report)
        if rows:
            lines += [markdown(header, rows), "", gap_key(report), ""]
        lines += [f"> {n}" for n in axis_notes(report)] + [""]
    if report.get("points"):
        lines += ["## Points (mean ± std over seeds)", "", markdown(*points_table(report)), ""]
    lines += ["## Trials", "", markdown(*trials_table(report)), ""]
    skipped = study.get("skipped") or []
    if skipped:
        lines += ["## Skipped trials", "",
                  markdown(["Trial", "State", "Reason"],
                           [[str(s["number"]), str(s["state"]), str(s["reason"])]
                            for s in skipped]), ""]
    lines += [f"![{caption}]({path.name})" for caption, path in figures.items()]
    return "\n".join(lines) + "\n"


def print_selection(report: Mapping[str, Any], echo: Callable[[str], None] = print) -> None:
    """The selection table as aligned text (the terminal's view of Table 1), then which way
    each criterion picks and what the gap's sign means."""
    header, rows = selection_table(report)
    widths = [max(len(c) for c in col) for col in zip(header, *rows, strict=True)]
    for row in [header, ["-" * w for w in widths], *rows]:
        echo("  ".join(c.ljust(w) if i < 2 else c.rjust(w)
                       for i, (c, w) in enumerate(zip(row, widths, strict=True))))
    echo(picks_line(report))
    echo(gap_key(report))


def write_report(report: Mapping[str, Any], folder: Path,
                 echo: Callable[[str], None] = print) -> dict[str, Path]:
    """Write every report file under ``folder``, print the selection table and the HTML path.

    Returns:
        ``{"json", "md", "html", "rankme_vs_accuracy", "rankme_over_epochs",
        "selection_table"}`` -> path.
    """
    folder.mkdir(parents=True, exist_ok=True)
    data = _jsonable(report)
    figures = {
        "RankMe vs accuracy (paper Figure 1)": rankme_vs_accuracy(
            data, folder / "rankme_vs_accuracy.png"),
        "RankMe over epochs": rankme_over_epochs(data, folder / "rankme_over_epochs.png"),
        "Selection table": table_figure(*selection_table(data), "Selection (linear probe)",
                                        folder / "selection_table.png",
                                        caption=selection_caption(data)),
    }
    paths = {"json": folder / "report.json", "md": folder / "report.md",
             "html": folder / "report.html"}
    paths["json"].write_text(json.dumps(data, indent=1, allow_nan=False) + "\n")
    paths["md"].write_text(_markdown_report(data, figures))
    paths["html"].write_text(render_html(data, figures))
    for note in data["notes"]:
        echo(f"note: {note}")
    echo(stopped_line(data))
    print_selection(data, echo)
    echo(mean_gap_line(data))
    echo(f"report: {shown_path(paths['html'])}")
    return {**paths, **{p.stem: p for p in figures.values()}}
