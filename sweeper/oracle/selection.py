"""Which trial each criterion picks within a method, and what it costs against the oracle.

A *row* is one finished trial as a dict: ``number``, ``method``, ``params`` (dotted keys),
the label-free metrics (``rankme``, ``alpha_req``, ...), and the oracle's accuracies
(``val_acc``, ``test_acc``, ``knn_val_acc``, ``knn_test_acc``, and per dataset under
``datasets``), its Optuna ``state`` and training ``status``. Label-free criteria read metric
values only; the oracle pick reads the validation accuracy only; test accuracies are only
reported. Trials stopped early (pruned or diverged) are left out of the selection and the
correlations unless asked for (:func:`selection_report`): a run pruned at epoch 3 is not a
candidate configuration of the same kind as one trained to the end.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sweeper.metrics.registry import COMBINED, SELECTING, direction_of, label_of
from sweeper.oracle.combined import add_combined, combined_criteria
from sweeper.oracle.points import defined, noise_floor, point_rows, seeded
from sweeper.oracle.statistics import rank_correlation

__all__ = ["STOP_STATUSES", "axes_without_lines", "correlations", "mean_gaps", "pick",
           "pick_direction", "select_within", "selection_by_axis", "selection_by_method",
           "selection_report", "stopped_reason"]

Row = Mapping[str, Any]

# Training statuses (metrics.json) of a run that ended before its last epoch.
STOP_STATUSES = ("pruned", "diverged")


def _value(row: Row, key: str) -> float | None:
    return defined(row.get(key))


def stopped_reason(row: Row) -> str | None:
    """``"diverged"`` or ``"pruned"`` for a trial that ended early, ``None`` otherwise.

    The training status (``metrics.json``) names it; Optuna's ``PRUNED`` state counts as
    pruned whatever the run wrote.

    Example:
        >>> stopped_reason({"state": "PRUNED", "status": "completed"})
        'pruned'
        >>> stopped_reason({"state": "COMPLETE", "status": "diverged"})
        'diverged'
        >>> stopped_reason({"state": "COMPLETE", "status": "completed"}) is None
        True
    """
    status = row.get("status")
    if status in STOP_STATUSES:
        return str(status)
    return "pruned" if row.get("state") == "PRUNED" else None


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


def pick_direction(metric: str) -> str:
    """How :func:`pick` picks by a criterion (``SELECTING``, ``COMBINED``): ``"max"``/``"min"``.

    >>> pick_direction("alpha_req")
    'min'
    """
    if metric not in (*SELECTING, *COMBINED):
        raise ValueError(f"unknown metric {metric!r}; known: {sorted(SELECTING)}")
    return "max" if direction_of(metric) == "maximize" else "min"


def select_within(rows: Sequence[Row], metrics: Sequence[str], val_key: str = "val_acc",
                  test_key: str = "test_acc",
                  datasets: Sequence[str] = ()) -> dict[str, dict[str, Any]]:
    """Picks of the oracle (highest ``val_key``) and of each metric, on one group of rows.

    Returns:
        ``{"oracle": {trial, val_acc, test_acc}, <metric>: {trial, value, val_acc, test_acc,
        gap}}``, ``gap = oracle test_acc - this pick's test_acc`` (positive: the pick lost
        accuracy); with ``datasets``, also ``test_acc_by_dataset``; for a point, ``trials``.
    """
    def entry(row: Row) -> dict[str, Any]:
        out: dict[str, Any] = {"trial": int(row["number"]), "val_acc": _value(row, val_key),
               "test_acc": _value(row, test_key)}
        if "trials" in row:  # a point of a seeded study: its trials, one per seed
            out["trials"] = list(row["trials"])
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
        chosen = pick(rows, metric, pick_direction(metric))
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


def _axis_lines(group: Sequence[Row], axis: str) -> list[list[Row]]:
    """The rows of ``group`` by the values of every param but ``axis``; only the groups with
    at least two distinct values on ``axis`` (a line to select along)."""
    lines: dict[str, list[Row]] = {}
    for row in group:
        params = row.get("params", {})
        if axis in params:
            fixed = {k: v for k, v in sorted(params.items()) if k != axis}
            lines.setdefault(repr(fixed), []).append(row)
    return [line for line in lines.values()
            if len({repr(r["params"][axis]) for r in line}) >= 2]


def selection_by_axis(rows: Sequence[Row], metrics: Sequence[str], axes: Sequence[str],
                      **kwargs: Any) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """Selection along each swept axis, the paper's one-hyperparameter-at-a-time sweeps.

    For each method and each axis, the rows are grouped by the values of all *other*
    params; each group with at least two distinct values on the axis is one line, and the
    picks are made within it (:func:`axes_without_lines` says why an axis has none).

    Returns:
        ``{method: {axis: [{"fixed": {...}, "trials": [...], "selection": {...}}]}}``.
    """
    return {method: {axis: [
        {"fixed": {k: v for k, v in sorted(line[0]["params"].items()) if k != axis},
         "trials": [int(r["number"]) for r in line],
         "selection": select_within(line, metrics, **kwargs)}
        for line in _axis_lines(group, axis)] for axis in axes}
        for method, group in sorted(_group(rows, "method").items())}


def axes_without_lines(rows: Sequence[Row], axes: Sequence[str]) -> dict[str, dict[str, str]]:
    """Why an axis has no line in :func:`selection_by_axis`, per method: ``{method: {axis:
    reason}}``, only for the axes of the method's own params without any line."""
    out: dict[str, dict[str, str]] = {}
    for method, group in sorted(_group(rows, "method").items()):
        for axis in axes:
            if _axis_lines(group, axis):
                continue
            on_axis = [r for r in group if axis in r.get("params", {})]
            values = {repr(r["params"][axis]) for r in on_axis}
            if not on_axis:
                continue  # another method's param
            if len(values) < 2:
                reason = (f"one value, {on_axis[0]['params'][axis]}, in {len(on_axis)} "
                          "trial(s): nothing to compare along it")
            else:
                reason = (f"{len(values)} values, but no two trials that differ in it share "
                          "every other param; lines need a one-at-a-time or grid sweep, and a "
                          "random or TPE search moves every param at once")
            out.setdefault(method, {})[axis] = reason
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


def mean_gaps(selection: Mapping[str, Mapping[str, Any]],
              metrics: Sequence[str]) -> dict[str, float | None]:
    """Mean over methods of each criterion's gap (the paper's headline: RankMe lost ~0.4
    points of ImageNet accuracy on average against the label-based choice)."""
    out: dict[str, float | None] = {}
    for metric in metrics:
        gaps = [sel[metric]["gap"] for sel in selection.values()
                if metric in sel and sel[metric]["gap"] is not None]
        out[metric] = sum(gaps) / len(gaps) if gaps else None
    return out


def selection_report(rows: Sequence[Row], metrics: Sequence[str], *, datasets: Sequence[str],
                     include_stopped: bool, per_axis: bool, n_boot: int,
                     seed: int) -> dict[str, Any]:
    """The selection half of ``report.json``: picks, gaps and correlations, per method.

    Trials stopped early (:func:`stopped_reason`) are left out of every pick and correlation
    unless ``include_stopped``; the rows themselves all stay in the report, marked. With
    seeds, the picks and correlations are over points' seed means (:mod:`.points`). The
    combined criteria whose parts have values are added (:mod:`.combined`).

    Args:
        rows: every evaluated trial.
        metrics: the criteria asked for; those no row records (LiDAR when no training
            measured it) are left out silently, those recorded without a value with a note.
        datasets: the downstream datasets, in-domain first.
        include_stopped: select and correlate among pruned and diverged trials too.
        per_axis: also select along each swept param, the others held fixed.
        n_boot: bootstrap resamples of each correlation's confidence interval.
        seed: the bootstrap's seed.

    Returns:
        ``metrics`` (with values, combined ones last), ``metrics_without_values``,
        ``metrics_not_recorded``, ``stopped`` (``included``, ``trials``: ``[{number,
        reason}]``, ``left_out``), ``notes``, ``selection``, ``selection_knn``, ``correlation``,
        ``correlation_knn``, ``mean_gap``; with ``per_axis``, ``selection_by_axis``,
        ``axes_without_lines``; with seeds, ``points``, ``noise_floor``.

    Raises ValueError for a metric without a selection direction.
    """
    if unknown := [m for m in metrics if m not in SELECTING]:
        raise ValueError(f"unknown metric(s) {unknown}; known: {sorted(SELECTING)}")
    recorded = [m for m in metrics if any(m in r for r in rows)]
    measured = [m for m in recorded if any(_value(r, m) is not None for r in rows)]
    # none measured: every metric asked for is named, recorded or not
    empty = [m for m in (recorded if measured else metrics) if m not in measured]
    stopped = [{"number": int(r["number"]), "reason": reason} for r in rows
               if (reason := stopped_reason(r)) is not None]
    left_out = set() if include_stopped else {s["number"] for s in stopped}
    used: list[Any] = [r for r in rows if int(r["number"]) not in left_out]
    points = point_rows(used, measured) if seeded(used) else None
    used, criteria = points or used, [*measured, *combined_criteria(measured)]
    add_combined(used, criteria[len(measured):])  # into the trial rows, without seeds
    notes = []
    if empty:
        notes.append(f"{', '.join(label_of(m) for m in empty)}: no value in any evaluated "
                     "trial; left out of the tables and figures")
    for method, group in sorted(_group(rows, "method").items()):
        dropped = sum(int(r["number"]) in left_out for r in group)
        n = len(group) - dropped
        if n == 0:
            notes.append(f"{method}: all {dropped} evaluated trial(s) stopped early and are "
                         "left out: nothing selected (compare.include_stopped=true includes "
                         "them)")
        elif n < 3:
            among = f" ({dropped} stopped early left out)" if dropped else ""
            notes.append(f"{method}: {n} evaluated trial(s){among}; every criterion picks among "
                         f"{n}, and rank correlations need at least 3 trials")
    out: dict[str, Any] = {
        "metrics": criteria, "metrics_without_values": empty,
        "metrics_not_recorded": [m for m in metrics if m not in recorded],
        "stopped": {"included": include_stopped, "trials": stopped,
                    "left_out": sorted(left_out)},
        "notes": notes,
        "selection": selection_by_method(used, criteria, datasets=datasets),
        "selection_knn": selection_by_method(used, criteria, val_key="knn_val_acc",
                                             test_key="knn_test_acc", datasets=datasets),
        "correlation": correlations(used, criteria, "test_acc", n_boot, seed),
        "correlation_knn": correlations(used, criteria, "knn_test_acc", n_boot, seed),
    }
    out["mean_gap"] = mean_gaps(out["selection"], criteria)
    if points is not None:
        out["points"], out["noise_floor"] = used, noise_floor(used)
    if per_axis:
        axes = sorted({k for r in rows for k in r.get("params", {})})
        out["selection_by_axis"] = selection_by_axis(used, criteria, axes, datasets=datasets)
        out["axes_without_lines"] = axes_without_lines(used, axes)
    return out
