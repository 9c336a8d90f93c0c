"""The words beside the report's tables, the same in every format (terminal, PNG, markdown,
HTML): what a gap's sign means, which way each criterion picks, and paths in the form the
user gave them.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sweeper.metrics.registry import direction_of, label_of
from sweeper.report.points import noise_floor_line
from sweeper.report.tables import stopped_caption

__all__ = ["GAP_KEY", "gap_key", "picks_line", "ran_in_note", "selection_caption", "shown_path"]

GAP_KEY = ("Gap: the oracle pick's test accuracy minus this pick's, in points and in test "
           "images; + means this pick got fewer test images right than the oracle's pick, "
           "- more (the oracle picks on validation accuracy, so a criterion can beat it on "
           "test), 0 as many.")

_WORDS = {"maximize": "highest", "minimize": "lowest"}


def picks_line(report: Mapping[str, Any]) -> str:
    """Which way each criterion of the report picks, from the metric registry's directions.

    Example:
        >>> picks_line({"metrics": ["rankme", "alpha_req", "nesum"]}).split("; ")[1:]
        ['RankMe, NESum the highest value', 'alpha-ReQ the lowest value.']
    """
    parts = ["Oracle (val acc) the highest validation accuracy"]
    for direction, word in _WORDS.items():
        named = [label_of(m) for m in report["metrics"] if direction_of(m) == direction]
        if named:
            parts.append(f"{', '.join(named)} the {word} value")
    return f"Each criterion picks one trial per method: {'; '.join(parts)}."


def gap_key(report: Mapping[str, Any]) -> str:
    """:data:`GAP_KEY`, and with seeds what the noise floor beside each gap is."""
    noise = noise_floor_line(report)
    return f"{GAP_KEY} {noise}" if noise else GAP_KEY


def selection_caption(report: Mapping[str, Any]) -> str:
    """The lines under the selection table's image, one paragraph each: the picks' directions,
    the gap's sign, the trials stopped early (when any)."""
    return "\n".join(line for line in (picks_line(report), gap_key(report),
                                        stopped_caption(report))
                     if line)


def shown_path(path: Path | str) -> str:
    """A path as a user in the current folder would type it: relative to that folder when
    inside it (``outputs/sweeps/...``, as ``sweep.dir`` is given), else absolute."""
    full = Path(path).resolve()
    try:
        return str(full.relative_to(Path.cwd()))
    except ValueError:
        return str(full)


def ran_in_note(study: Mapping[str, Any]) -> str:
    """What follows the storage URL, shown as given: the folder ``compare`` ran in (what a
    relative SQLite path is relative to), when the report recorded it."""
    ran_in = study.get("ran_in")
    return f" (as given; compare ran in {ran_in})" if ran_in else ""
