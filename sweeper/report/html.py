"""A self-contained HTML report: inline CSS, figures as base64 data URIs, no external links.

It opens offline from any folder (mail it, attach it to a ticket): nothing is fetched.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

from sweeper.report.legend import gap_key, picks_line, ran_in_note
from sweeper.report.points import points_table
from sweeper.report.tables import (
    axis_notes,
    axis_table,
    bank_line,
    correlation_table,
    mean_gap_line,
    selection_table,
    stopped_line,
    stopped_trials,
    trials_table,
)

__all__ = ["render_html"]

CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px;
       color: #222; line-height: 1.4; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th { background: #f3f3f3; }
th.text, td.text { text-align: left; }
tr.stopped td { color: #777; font-style: italic; }
img { max-width: 100%; border: 1px solid #eee; margin: 0.5em 0; }
.note { color: #8a5a00; }
code { background: #f6f6f6; padding: 0 0.2em; }
"""


def _numeric(cell: str) -> bool:
    """A cell that reads as a number (``"-"``, ``"+1.33 (= +4 of 300 ...)"``, ``"[-0.1, 0.2]"``)."""
    token = cell.split(" ")[0].strip("[],%#")
    if token in ("", "-"):
        return True
    try:
        float(token)
    except ValueError:
        return False
    return True


def _table(header: Sequence[str], rows: Sequence[Sequence[str]],
           muted: Collection[int] = ()) -> str:
    """An HTML table: numeric columns right-aligned, text columns left-aligned, the rows
    whose index is in ``muted`` greyed (trials stopped early)."""
    text = ["" if all(_numeric(row[i]) for row in rows) else ' class="text"'
            for i in range(len(header))]
    head = "".join(f"<th{cls}>{html.escape(h)}</th>" for cls, h in zip(text, header,
                                                                        strict=True))
    body = "".join(
        ('<tr class="stopped">' if i in muted else "<tr>")
        + "".join(f"<td{cls}>{html.escape(c)}</td>" for cls, c in zip(text, row, strict=True))
        + "</tr>" for i, row in enumerate(rows))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _img(path: Path, alt: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def render_html(report: Mapping[str, Any], figures: Mapping[str, Path]) -> str:
    """The report page. ``figures`` maps a caption to a PNG file, embedded inline."""
    study = report["study"]
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        f"<title>rankme-sweeper report: {html.escape(str(study['name']))}</title>",
        f"<style>{CSS}</style></head><body>",
        f"<h1>Study <code>{html.escape(str(study['name']))}</code></h1>",
        f"<p>{study['n_evaluated']} of {study['n_trials']} trials evaluated; storage "
        f"<code>{html.escape(str(study['storage']))}</code>"
        f"{html.escape(ran_in_note(study))}. Accuracies: linear probe on "
        "frozen backbone features, settings chosen on a validation split carved from train, "
        "scored on the held-out split; in percent everywhere. Metric value: the criterion's "
        "own value.</p>",
        f"<p>{html.escape(bank_line(report))}</p>",
        f"<p><b>{html.escape(stopped_line(report))}</b></p>",
    ]
    parts += [f'<p class="note">{html.escape(n)}</p>' for n in report["notes"]]
    key = [f"<p>{html.escape(line)}</p>" for line in (picks_line(report), gap_key(report))]
    parts += ["<h2>Selection (linear probe)</h2>", _table(*selection_table(report)), *key,
              f"<p>{html.escape(mean_gap_line(report))}</p>"]
    parts += ["<h2>Selection (kNN)</h2>", _table(*selection_table(report, "selection_knn")),
              *key]
    parts += ["<h2>Rank correlation with test accuracy</h2>",
              _table(*correlation_table(report))]
    if "selection_by_axis" in report:
        parts.append("<h2>Along each swept axis (the other params fixed)</h2>")
        header, rows = axis_table(report)
        if rows:
            parts += [_table(header, rows), f"<p>{html.escape(gap_key(report))}</p>"]
        parts += [f'<p class="note">{html.escape(n)}</p>' for n in axis_notes(report)]
    for caption, path in figures.items():
        parts += [f"<h2>{html.escape(caption)}</h2>", _img(path, caption)]
    if report.get("points"):
        parts += ["<h2>Points (mean ± std over seeds)</h2>", _table(*points_table(report))]
    stopped = stopped_trials(report)
    parts += ["<h2>Trials</h2>", _table(*trials_table(report), muted={
        i for i, t in enumerate(report["trials"]) if t["number"] in stopped})]
    skipped = study.get("skipped") or []
    if skipped:
        parts += ["<h2>Skipped trials</h2>",
                  _table(["Trial", "State", "Reason"],
                         [[str(s["number"]), str(s["state"]), str(s["reason"])]
                          for s in skipped])]
    parts.append("</body></html>")
    return "\n".join(parts)
