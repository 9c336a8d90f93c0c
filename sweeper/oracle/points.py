"""Points of a study run with seeds (``sweep.seeds`` > 1): its trials grouped by params.

A *point* is one method's setting of the searched params; with k seeds the study trains it
k times, each trial's seed in its ``seed`` user attr (:func:`sweeper.study.trial.ask_trial`).
:func:`point_rows` turns the trials of each point into one row holding the seed means of
every label-free metric and accuracy, so that the selection picks on seed means exactly as
it picks on trials without seeds; ``spread`` keeps each mean's standard deviation and count.

The oracle's noise floor (:func:`noise_floor`) is the standard deviation over seeds of the
*centre point*'s test accuracy. The centre point of a method is the point with the most
neighbours (points that differ from it in exactly one param): in a one-at-a-time sweep the
point where the axes cross, i.e. the enqueued default. Ties go to the point whose first
trial has the lowest number (in a full grid, where every point has as many neighbours).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["ACCURACIES", "centre_point", "defined", "noise_floor", "point_rows", "seeded"]

Row = Mapping[str, Any]

# The oracle's values averaged over a point's seeds, beside the label-free metrics.
ACCURACIES = ("val_acc", "test_acc", "knn_val_acc", "knn_test_acc")


def seeded(rows: Sequence[Row]) -> bool:
    """Whether the trials record a seed (a study run with ``sweep.seeds`` > 1)."""
    return any(r.get("seed") is not None for r in rows)


def defined(value: Any) -> float | None:
    """``value`` as a float, or None when it is missing, a bool or not finite."""
    if value is None or isinstance(value, bool):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _spread(values: Sequence[Any]) -> dict[str, Any]:
    ok = [v for v in map(defined, values) if v is not None]
    return {"mean": statistics.fmean(ok) if ok else None,
            "std": statistics.stdev(ok) if len(ok) >= 2 else None, "n": len(ok)}


def _key(row: Row) -> tuple[str, str]:
    return str(row["method"]), repr(sorted(row.get("params", {}).items()))


def point_rows(rows: Sequence[Row], metrics: Sequence[str]) -> list[dict[str, Any]]:
    """One row per (method, params): ``number`` (its first trial's), ``trials``, ``seeds``,
    the seed mean of each of ``metrics`` and :data:`ACCURACIES` (also per dataset under
    ``datasets``), and ``spread``: ``{key: {"mean", "std", "n"}}`` (sample standard
    deviation; ``None`` under two values). Values a trial lacks are left out of its point's
    mean; a point without any is ``None``.

    Example:
        >>> p = point_rows([{"number": 0, "method": "m", "params": {"a": 1}, "seed": 0,
        ...                  "test_acc": 0.5}, {"number": 1, "method": "m", "params": {"a": 1},
        ...                  "seed": 1, "test_acc": 0.7}], [])[0]
        >>> p["trials"], round(p["test_acc"], 3), round(p["spread"]["test_acc"]["std"], 4)
        ([0, 1], 0.6, 0.1414)
    """
    groups: dict[tuple[str, str], list[Row]] = {}
    for row in sorted(rows, key=lambda r: int(r["number"])):
        groups.setdefault(_key(row), []).append(row)
    out = []
    for group in groups.values():
        first = group[0]
        point: dict[str, Any] = {
            "number": int(first["number"]), "trials": [int(r["number"]) for r in group],
            "seeds": [r.get("seed") for r in group], "method": first["method"],
            "params": dict(first.get("params", {})), "state": "COMPLETE",
            "status": "completed", "spread": {}}
        for key in (*metrics, *ACCURACIES):
            spread = _spread([r.get(key) for r in group])
            point[key], point["spread"][key] = spread["mean"], spread
        names = {d for r in group for d in (r.get("datasets") or {})}
        point["datasets"] = {d: {k: _spread([(r.get("datasets") or {}).get(d, {}).get(k)
                                             for r in group])["mean"]
                                 for k in ("test_acc", "knn_test_acc")}
                             for d in sorted(names)}
        out.append(point)
    return out


def _neighbours(point: Row, others: Sequence[Row]) -> int:
    mine = point["params"]
    return sum(1 for o in others if o is not point and o["params"].keys() == mine.keys()
               and sum(o["params"][k] != mine[k] for k in mine) == 1)


def centre_point(points: Sequence[Row]) -> Row | None:
    """The centre of one method's points (module docstring); None without points."""
    if not points:
        return None
    return max(points, key=lambda p: (_neighbours(p, points), -int(p["number"])))


def noise_floor(points: Sequence[Row]) -> dict[str, dict[str, Any]]:
    """Per method, the centre point's test accuracy over seeds: ``{"trials", "params",
    "mean", "std", "n"}``; ``std`` is ``None`` when fewer than two of its seeds have an
    accuracy (no floor can be stated)."""
    by_method: dict[str, list[Row]] = {}
    for p in points:
        by_method.setdefault(str(p["method"]), []).append(p)
    out = {}
    for method, group in sorted(by_method.items()):
        centre = centre_point(group)
        assert centre is not None
        spread = centre["spread"]["test_acc"]
        out[method] = {"trials": list(centre["trials"]), "params": dict(centre["params"]),
                       "mean": spread["mean"], "std": spread["std"], "n": spread["n"]}
    return out
