"""Combined label-free criteria: one value per trial from the ranks of several metrics.

The rule (docs/metrics.md, "Combined criterion", fixed before any number was computed):
within one method, among the rows a selection picks from (the trials trained to the end, or
with seeds the points' seed means), each part metric ranks the rows that define every part,
1 for the best value by the registry's direction, tied values sharing their average rank;
the combined value of a row is the mean of its ranks. The lowest mean rank is picked (the
registry's direction of ``mean_rank``); rows missing a part get no value. A combined
criterion is computed only when every part has a value in some row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from scipy import stats

from sweeper.metrics.registry import COMBINED, direction_of, metric
from sweeper.oracle.points import defined

__all__ = ["add_combined", "combined_criteria", "mean_ranks"]

Row = Mapping[str, Any]


def combined_criteria(measured: Sequence[str]) -> list[str]:
    """The combined criteria whose parts are all among ``measured``."""
    return [name for name in COMBINED if all(p in measured for p in metric(name).parts)]


def mean_ranks(rows: Sequence[Row], parts: Sequence[str]) -> list[float | None]:
    """The mean over ``parts`` of each row's rank (1 = best, ties averaged) among the rows
    that define every part; ``None`` for a row that lacks one.

    Example:
        >>> mean_ranks([{"rankme": 9, "lidar": 1}, {"rankme": 5, "lidar": 3},
        ...             {"rankme": 5, "lidar": 2}], ["rankme", "lidar"])
        [2.0, 1.75, 2.25]
    """
    complete = [i for i, r in enumerate(rows) if all(defined(r.get(p)) is not None for p in parts)]
    out: list[float | None] = [None] * len(rows)
    if not complete:
        return out
    total = [0.0] * len(complete)
    for part in parts:
        sign = -1.0 if direction_of(part) == "maximize" else 1.0  # rank 1 = best
        ranks = stats.rankdata([sign * float(rows[i][part]) for i in complete])
        total = [t + float(r) for t, r in zip(total, ranks, strict=True)]
    for i, t in zip(complete, total, strict=True):
        out[i] = t / len(parts)
    return out


def add_combined(rows: Sequence[dict[str, Any]], names: Sequence[str]) -> None:
    """Adds each combined criterion of ``names`` to ``rows`` (in place: the report's trial
    rows show their values), its ranks taken within each method separately (RankMe
    compares runs of one method only)."""
    by_method: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_method.setdefault(str(row["method"]), []).append(row)
    for name in names:
        for group in by_method.values():
            for row, value in zip(group, mean_ranks(group, metric(name).parts), strict=True):
                row[name] = value
