"""The report's words and table for a study run with seeds: each point's seed mean and
spread, and the oracle's noise floor beside every gap (:mod:`sweeper.oracle.points`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sweeper.metrics.registry import label_of

__all__ = ["noise_floor_line", "noise_suffix", "point_cell", "points_table"]


def _method_of(report: Mapping[str, Any], number: int) -> str | None:
    return next((str(t["method"]) for t in report["trials"] if t["number"] == number), None)


def noise_suffix(report: Mapping[str, Any], number: int) -> str:
    """What follows a gap of a pick of ``number``'s method: ``"; noise floor 0.45"`` (the
    centre point's test accuracy's std over seeds, in points), ``"; noise floor -"`` when
    the centre has under two seeds with an accuracy; ``""`` in a study without seeds."""
    floors = report.get("noise_floor")
    if not floors:
        return ""
    floor = floors.get(_method_of(report, number) or "", {})
    std = floor.get("std")
    return "; noise floor " + ("-" if std is None else f"{100 * std:.2f}")


def point_cell(entry: Mapping[str, Any], trial: str) -> str:
    """A pick's trial cell; for a point, every trial of it, one per seed: ``"3, 4, 5"``."""
    return ", ".join([trial, *map(str, entry.get("trials", [])[1:])])


def noise_floor_line(report: Mapping[str, Any]) -> str:
    """One line: what the noise floor beside each gap is, per method; ``""`` without seeds."""
    floors = report.get("noise_floor")
    if not floors:
        return ""
    parts = []
    for method, f in floors.items():
        where = ", ".join(f"{k}={v}" for k, v in sorted(f["params"].items()))
        std = "-" if f["std"] is None else f"{100 * f['std']:.2f} points"
        parts.append(f"{method} {std} (trials {', '.join(map(str, f['trials']))}: {where}; "
                     f"n={f['n']})")
    return ("Seeds: each point's trials are averaged over seeds, and every criterion picks on "
            "the seed means. Noise floor: the standard deviation over seeds of the test "
            "accuracy of the centre point (the point with the most one-param neighbours, in "
            "a one-at-a-time sweep the default): " + "; ".join(parts) + ".")


def _mean_std(spread: Mapping[str, Any] | None, percent: bool) -> str:
    if not spread or spread.get("mean") is None:
        return "-"
    mean, std = spread["mean"], spread.get("std")
    if percent:
        return f"{100 * mean:.2f}" + ("" if std is None else f" ± {100 * std:.2f}")
    return f"{mean:.4g}" + ("" if std is None else f" ± {std:.2g}")


def points_table(report: Mapping[str, Any]) -> tuple[list[str], list[list[str]]]:
    """Header and rows: each point's trials, and the mean ± std over its seeds of the test
    accuracies (%) and of every label-free metric; n counts the seeds with a test accuracy.
    No rows in a study without seeds."""
    metrics = report["metrics"]
    header = ["Method", "Params", "Trials", "n", "val %", "test %", "kNN test %",
              *[label_of(m) for m in metrics]]
    rows = []
    for p in report.get("points", []):
        s = p["spread"]
        rows.append([str(p["method"]),
                     ", ".join(f"{k}={v}" for k, v in sorted(p["params"].items())),
                     ", ".join(map(str, p["trials"])), str(s["test_acc"]["n"]),
                     *[_mean_std(s[k], True) for k in ("val_acc", "test_acc", "knn_test_acc")],
                     # a combined criterion is one value per point, from the seed means
                     *[_mean_std(s.get(m, {"mean": p.get(m)}), False) for m in metrics]])
    return header, rows
