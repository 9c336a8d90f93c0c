"""Which trial each criterion picks within a method, and what it costs against the oracle.

A *row* is one finished trial as a dict: ``number``, ``method``, ``params`` (dotted keys),
the label-free metrics (``rankme``, ``alpha_req``, ...), and the oracle's accuracies
(``val_acc``, ``test_acc``, ``knn_val_acc``, ``knn_test_acc``, and per dataset under
``datasets``). Label-free criteria read metric values only; the oracle pick reads the
validation accuracy only; test accuracies are only reported.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sweeper.metrics.registry import METRICS
from sweeper.oracle.statistics import rank_correlation

__all__ = [
    "METRIC_DIRECTIONS",
    "correlations",
    "pick",
    "select_within",
    "selection_by_axis",
    "selection_by_method",
]

Row = Mapping[str, Any]

# Which way each criterion picks, from the metric registry: "max" or "min".
METRIC_DIRECTIONS: dict[str, str] = {m.name: "max" if m.direction == "maximize" else "min"
                                     for m in METRICS if m.selects}


def _value(row: Row, key: str) -> float | None:
    value = row.get(key)
    if value is None or isinstance(value, bool):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _group(rows: Iterable[Row], key: str) -> dict[str, list[Row]]:
    out: dict[str, list[Row]] = {}
    for row in rows:
        out.setdefault(str(row[key]), []).append(row)
    return out


def pick(rows: Sequence[Row], key: str, direction: str) -> Row | None:
    """The row with the highest (``"max"``) or lowest (``"min"``) defined value of ``key``.

    Ties go to the lowest trial number. Rows where ``key`` is missing, null or non-finite
    are not candidates; ``None`` if no row is.
    """
    if direction not in ("max", "min"):
        raise ValueError(f"direction must be 'max' or 'min', got {direction!r}")
    sign = 1.0 if direction == "max" else -1.0
    candidates = [(sign * v, -int(r["number"]), i) for i, r in enumerate(rows)
                  if (v := _value(r, key)) is not None]
    return rows[max(candidates)[2]] if candidates else None


def select_within(rows: Sequence[Row], metrics: Sequence[str], val_key: str = "val_acc",
                  test_key: str = "test_acc",
                  datasets: Sequence[str] = ()) -> dict[str, dict[str, Any]]:
    """Picks of the oracle (highest ``val_key``) and of each metric, on one group of rows.

    Returns:
        ``{"oracle": {trial, val_acc, test_acc}, <metric>: {trial, value, val_acc, test_acc,
        gap}}`` where ``gap = oracle test_acc - this pick's test_acc`` (positive: the pick
        lost accuracy); with ``datasets``, each entry also holds ``test_acc_by_dataset``.
        Metrics no row defines are left out.
    """
    def entry(row: Row) -> dict[str, Any]:
        out: dict[str, Any] = {"trial": int(row["number"]), "val_acc": _value(row, val_key),
               "test_acc": _value(row, test_key)}
        if datasets:
            out["test_acc_by_dataset"] = {
                d: _value(row.get("datasets", {}).get(d, {}), test_key) for d in datasets}
        return out

    oracle = pick(rows, val_key, "max")
    if oracle is None:
        return {}
    result: dict[str, dict[str, Any]] = {"oracle": entry(oracle)}
    best = _value(oracle, test_key)
    for metric in metrics:
        if metric not in METRIC_DIRECTIONS:
            raise ValueError(f"unknown metric {metric!r}; known: {sorted(METRIC_DIRECTIONS)}")
        chosen = pick(rows, metric, METRIC_DIRECTIONS[metric])
        if chosen is None:
            continue
        item = entry(chosen)
        item["value"] = _value(chosen, metric)
        item["gap"] = (None if best is None or item["test_acc"] is None
                       else best - item["test_acc"])
        result[metric] = item
    return result


def selection_by_method(rows: Sequence[Row], metrics: Sequence[str], **kwargs: Any,
                        ) -> dict[str, dict[str, dict[str, Any]]]:
    """:func:`select_within` for each method (RankMe ranks runs of one method only)."""
    return {m: select_within(group, metrics, **kwargs)
            for m, group in sorted(_group(rows, "method").items())}


def selection_by_axis(rows: Sequence[Row], metrics: Sequence[str], axes: Sequence[str],
                      **kwargs: Any) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """Selection along each swept axis, the paper's one-hyperparameter-at-a-time sweeps.

    For each method and each axis, the rows are grouped by the values of all *other*
    params; each group with at least two distinct values on the axis is one line, and the
    picks are made within it.

    Returns:
        ``{method: {axis: [{"fixed": {...}, "trials": [...], "selection": {...}}]}}``.
    """
    out: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for method, group in sorted(_group(rows, "method").items()):
        per_axis: dict[str, list[dict[str, Any]]] = {}
        for axis in axes:
            lines: dict[str, list[Row]] = {}
            for row in group:
                params = row.get("params", {})
                if axis not in params:
                    continue
                fixed = {k: v for k, v in sorted(params.items()) if k != axis}
                lines.setdefault(repr(fixed), []).append(row)
            per_axis[axis] = [
                {"fixed": {k: v for k, v in sorted(line[0]["params"].items()) if k != axis},
                 "trials": [int(r["number"]) for r in line],
                 "selection": select_within(line, metrics, **kwargs)}
                for line in lines.values()
                if len({repr(r["params"][axis]) for r in line}) >= 2]
        out[method] = per_axis
    return out


def correlations(rows: Sequence[Row], metrics: Sequence[str], acc_key: str = "test_acc",
                 n_boot: int = 1000, seed: int = 0) -> dict[str, dict[str, dict[str, Any]]]:
    """:func:`~sweeper.oracle.statistics.rank_correlation` of each metric vs ``acc_key``,
    per method, over the rows where both are defined."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for method, group in sorted(_group(rows, "method").items()):
        per_metric: dict[str, dict[str, Any]] = {}
        for metric in metrics:
            pairs = [(m, a) for r in group
                     if (m := _value(r, metric)) is not None
                     and (a := _value(r, acc_key)) is not None]
            if not pairs:
                continue
            xs, ys = zip(*pairs, strict=True)
            per_metric[metric] = rank_correlation(xs, ys, n_boot=n_boot, seed=seed)
        out[method] = per_metric
    return out
