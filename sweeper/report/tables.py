"""The report's tables as plain rows: selection (the paper's Table 1 shape) and correlations.

Accuracies are shown in percent, gaps in points (oracle pick's test accuracy minus the
pick's); the data behind them stays in fractions in report.json.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sweeper.metrics.registry import METRICS

__all__ = [
    "CRITERION_LABELS",
    "axis_table",
    "bank_line",
    "correlation_table",
    "markdown",
    "mean_gap_line",
    "selection_table",
    "trials_table",
]

CRITERION_LABELS: dict[str, str] = {"oracle": "Oracle (val acc)",
                                    **{m.name: m.label for m in METRICS}}


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.2f}"


def _num(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def selection_table(report: Mapping[str, Any], key: str = "selection",
                    ) -> tuple[list[str], list[list[str]]]:
    """Header and rows: one row per method and criterion, as in the paper's Table 1.

    Columns: method, criterion, picked trial, its metric value, in-domain test accuracy,
    gap to the oracle pick (points), then the test accuracy on each out-of-distribution
    dataset and their mean.
    """
    datasets = [d["name"] for d in report["datasets"]]
    ood = datasets[1:]
    header = ["Method", "Criterion", "Trial", "Value", f"{datasets[0]} test %", "Gap (pts)"]
    header += [f"{name} %" for name in ood] + (["OOD mean %"] if ood else [])
    rows = []
    for method, picks in report[key].items():
        for criterion in ["oracle", *report["metrics"]]:
            if criterion not in picks:
                continue
            p = picks[criterion]
            gap = p.get("gap")
            row = [method, CRITERION_LABELS.get(criterion, criterion), str(p["trial"]),
                   _num(p.get("value", p.get("val_acc"))), _pct(p["test_acc"]),
                   "-" if gap is None else f"{100 * gap:+.2f}"]
            by_ds = p.get("test_acc_by_dataset", {})
            accs = [by_ds.get(name) for name in ood]
            row += [_pct(a) for a in accs]
            if ood:
                defined = [a for a in accs if a is not None]
                row.append(_pct(sum(defined) / len(defined)) if defined else "-")
            rows.append(row)
    return header, rows


def correlation_table(report: Mapping[str, Any], key: str = "correlation",
                      ) -> tuple[list[str], list[list[str]]]:
    """Header and rows: Kendall's tau and Spearman's rho (95% bootstrap CI) per metric."""
    header = ["Method", "Metric", "n", "Kendall tau", "tau 95% CI", "Spearman rho",
              "rho 95% CI"]
    rows = []

    def ci(value: Sequence[float] | None) -> str:
        return "-" if not value else f"[{value[0]:+.2f}, {value[1]:+.2f}]"

    for method, per_metric in report[key].items():
        for metric, c in per_metric.items():
            rows.append([method, CRITERION_LABELS.get(metric, metric), str(c["n"]),
                         "-" if c["kendall_tau"] is None else f"{c['kendall_tau']:+.3f}",
                         ci(c["kendall_ci95"]),
                         "-" if c["spearman_rho"] is None else f"{c['spearman_rho']:+.3f}",
                         ci(c["spearman_ci95"])])
    return header, rows


def markdown(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A GitHub-flavoured markdown table."""
    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    return "\n".join([line(header), line(["---"] * len(header)), *map(line, rows)])


def bank_line(report: Mapping[str, Any]) -> str:
    """One line: how many images the label-free metrics were measured on."""
    def sizes(key: str) -> str:
        found = sorted({t[key] for t in report["trials"] if t.get(key) is not None})
        return "/".join(f"{n:,}" for n in found) or "unknown"

    return (f"Label-free metrics: measured after training on {sizes('objective_bank_size')} "
            f"un-augmented training images (the objective bank, column Bank); the per-epoch "
            f"values the pruner read used {sizes('monitor_bank_size')}.")


def mean_gap_line(report: Mapping[str, Any]) -> str:
    """One line: each criterion's gap to the oracle, averaged over methods, in points."""
    parts = [f"{CRITERION_LABELS.get(m, m)} {100 * g:+.2f}"
             for m, g in report.get("mean_gap", {}).items() if g is not None]
    return "mean gap to the oracle over methods (pts): " + (", ".join(parts) or "-")


def trials_table(report: Mapping[str, Any]) -> tuple[list[str], list[list[str]]]:
    """Header and rows: every evaluated trial with its params, metrics and accuracies."""
    metrics = [m for m in report["metrics"]
               if any(t.get(m) is not None for t in report["trials"])]
    header = ["Trial", "Method", "Params", *[CRITERION_LABELS.get(m, m) for m in metrics],
              "Bank", "val %", "test %", "kNN test %"]
    rows = [[str(t["number"]), str(t["method"]),
             ", ".join(f"{k}={_num(v)}" for k, v in sorted(t["params"].items())),
             *[_num(t.get(m)) for m in metrics], _num(t.get("objective_bank_size")),
             _pct(t["val_acc"]), _pct(t["test_acc"]), _pct(t["knn_test_acc"])]
            for t in report["trials"]]
    return header, rows


def _pick_cell(report: Mapping[str, Any], entry: Mapping[str, Any], axis: str) -> str:
    trial = next(t for t in report["trials"] if t["number"] == entry["trial"])
    return f"{_num(trial['params'][axis])} (#{entry['trial']}, {_pct(entry['test_acc'])}%)"


def axis_table(report: Mapping[str, Any]) -> tuple[list[str], list[list[str]]]:
    """Header and rows: along each swept axis (others fixed), the oracle and RankMe picks."""
    header = ["Method", "Axis", "Fixed", "Trials", "Oracle pick", "RankMe pick", "Gap (pts)"]
    rows = []
    for method, axes in report.get("selection_by_axis", {}).items():
        for axis, lines in axes.items():
            for line in lines:
                sel = line["selection"]
                if "oracle" not in sel or "rankme" not in sel:
                    continue
                gap = sel["rankme"]["gap"]
                fixed = ", ".join(f"{k}={_num(v)}" for k, v in line["fixed"].items())
                rows.append([method, axis, fixed, str(len(line["trials"])),
                             _pick_cell(report, sel["oracle"], axis),
                             _pick_cell(report, sel["rankme"], axis),
                             "-" if gap is None else f"{100 * gap:+.2f}"])
    return header, rows
