"""The tables of docs/reproduction-cifar10.md from the studies' ``compare`` reports.

``compare`` writes one report per study (``<study>/report/report.json``); its per-axis table
shows RankMe alone. This prints, in Markdown, for the given reports:

0. **the whole study, every criterion's pick**: the point it picks (its trials), that
   point's mean test accuracy and the gap, and Spearman's rho over the points' seed means
   with its bootstrap interval (the report's own numbers, side by side);
1. **per axis, every criterion's pick**: the oracle's pick (seed means, chosen on
   validation accuracy) and, per label-free criterion, the value it picks and its gap in
   points (oracle pick's test accuracy minus the criterion pick's), with the noise floor
   (the centre point's test-accuracy std over seeds);
2. **rank correlations over trials**: Spearman's rho of each criterion with test accuracy
   over the trials (each seed a sample) along each axis and over the whole study, with its
   95% bootstrap interval (``sweeper.oracle.statistics.rank_correlation``). The report's own
   whole-study correlation is over the points' seed means; this one keeps the seed noise in.

Nothing is recomputed from the checkpoints: every number comes from the reports.

Run::

    .venv/bin/python benchmarks/selection_tables.py \
        outputs/sweeps/cifar10_cpu_v2_*/report/report.json
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sweeper.oracle.statistics import rank_correlation
from sweeper.report.tables import criterion_label, markdown


def _short(axis: str) -> str:
    return axis.rsplit(".", 1)[-1]


def _value(v: float) -> str:
    return f"{v:g}"


def _gap(gap: float) -> str:
    return "0.00" if gap == 0 else f"{100 * gap:+.2f}"


def axis_picks(report: Mapping[str, Any], metrics: Sequence[str]) -> list[list[str]]:
    """Rows: method, axis, points, oracle pick, then per metric "value (gap)"."""
    rows = []
    floors = report.get("noise_floor") or {}
    params = {t["number"]: t["params"] for t in report["trials"]}
    for method, axes in report["selection_by_axis"].items():
        floor = (floors.get(method) or {}).get("std")
        for axis, lines in axes.items():
            for line in lines:
                sel = line["selection"]
                oracle = sel["oracle"]
                row = [method, _short(axis), str(len(line["trials"])),
                       f"{_value(params[oracle['trial']][axis])} "
                       f"({100 * oracle['test_acc']:.2f})"]
                for m in metrics:
                    e = sel.get(m)
                    row.append("-" if e is None else
                               f"{_value(params[e['trial']][axis])} ({_gap(e['gap'])})")
                row.append("-" if floor is None else f"{100 * floor:.2f}")
                rows.append(row)
    return rows


def _rho(xs: list[float], ys: list[float]) -> str:
    c = rank_correlation(xs, ys)
    if c["spearman_rho"] is None:
        return "-"
    ci = c["spearman_ci95"]
    return f"{c['spearman_rho']:+.2f} [{ci[0]:+.2f}, {ci[1]:+.2f}]" if ci else \
        f"{c['spearman_rho']:+.2f}"


def whole_study(report: Mapping[str, Any], metrics: Sequence[str]) -> list[list[str]]:
    """Rows: method, criterion, pick (trials), test %, gap, Spearman over points [CI]."""
    rows = []
    for method, sel in report["selection"].items():
        oracle = sel["oracle"]
        rows.append([method, "oracle (val acc)", ", ".join(map(str, oracle["trials"])),
                     f"{100 * oracle['test_acc']:.2f}", "-", "-"])
        for m in metrics:
            e = sel.get(m)
            if e is None:
                continue
            c = (report.get("correlation") or {}).get(method, {}).get(m) or {}
            ci = c.get("spearman_ci95")
            rho = ("-" if c.get("spearman_rho") is None else f"{c['spearman_rho']:+.2f}"
                   + (f" [{ci[0]:+.2f}, {ci[1]:+.2f}]" if ci else ""))
            rows.append([method, criterion_label(m), ", ".join(map(str, e["trials"])),
                         f"{100 * e['test_acc']:.2f}", _gap(e["gap"]), f"{rho} (n={c.get('n')})"])
    return rows


def trial_correlations(report: Mapping[str, Any], metrics: Sequence[str]) -> list[list[str]]:
    """Rows: method, scope (an axis or the whole study), n trials, rho [CI] per metric."""
    rows = []
    evaluated = [t for t in report["trials"] if t.get("test_acc") is not None]
    for method, axes in report["selection_by_axis"].items():
        mine = [t for t in evaluated if t["method"] == method]
        scopes: list[tuple[str, list[dict[str, Any]]]] = []
        for axis, lines in axes.items():
            for line in lines:
                fixed = line["fixed"]
                scopes.append((_short(axis), [t for t in mine if all(
                    t["params"].get(k) == v for k, v in fixed.items())]))
        scopes.append(("whole study", mine))
        for scope, trials in scopes:
            row = [method, scope, str(len(trials))]
            for m in metrics:
                pairs = [(t[m], t["test_acc"]) for t in trials if t.get(m) is not None]
                row.append(_rho([p[0] for p in pairs], [p[1] for p in pairs])
                           if len(pairs) >= 3 else "-")
            rows.append(row)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("reports", nargs="+", type=Path)
    args = ap.parse_args()
    reports = [json.loads(p.read_text()) for p in args.reports]
    metrics = [m for m in reports[0]["selection"][next(iter(reports[0]["selection"]))]
               if m != "oracle"]
    labels = [criterion_label(m) for m in metrics]
    print(markdown(["method", "criterion", "picked point (trials)", "test %", "gap",
                    "Spearman over points [95% CI]"],
                   [r for rep in reports for r in whole_study(rep, metrics)]))
    print()
    picks = [r for rep in reports for r in axis_picks(rep, metrics)]
    print(markdown(["method", "axis", "points", "oracle pick (test %)", *labels, "noise floor"],
                   picks))
    print()
    trial_metrics = [m for m in metrics if m != "mean_rank"]  # a point-level criterion
    print(markdown(["method", "trials along", "n", *[criterion_label(m) for m in trial_metrics]],
                   [r for rep in reports for r in trial_correlations(rep, trial_metrics)]))


if __name__ == "__main__":
    main()
