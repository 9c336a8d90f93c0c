"""The report's tables as plain rows: selection (the paper's Table 1 shape) and correlations.

Accuracies are shown in percent, gaps in points (oracle pick's test accuracy minus the
pick's); the data behind them stays in fractions in report.json. Every gap also counts
test images, with the test set's size: on a small test set (360 digits) one image is 0.28
points, so a gap of a few images is noise, not a ranking. Trials stopped early (pruned,
diverged) carry their reason wherever their number appears.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sweeper.metrics.registry import label_of
from sweeper.report.points import noise_suffix, point_cell

__all__ = [
    "ORACLE_LABEL",
    "axis_notes",
    "axis_table",
    "bank_line",
    "correlation_table",
    "criterion_label",
    "markdown",
    "mean_gap_line",
    "selection_table",
    "stopped_caption",
    "stopped_line",
    "stopped_trials",
    "trial_cell",
    "trials_table",
]

ORACLE_LABEL = "Oracle (val acc)"


def criterion_label(name: str) -> str:
    """How the tables name a criterion: the oracle, or a metric by its registry label."""
    return ORACLE_LABEL if name == "oracle" else label_of(name)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.2f}"


def _num(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def stopped_trials(report: Mapping[str, Any]) -> dict[int, str]:
    """Trial number -> ``"pruned"`` / ``"diverged"`` for each trial stopped early."""
    return {int(s["number"]): str(s["reason"])
            for s in report.get("stopped", {}).get("trials", [])}


def trial_cell(report: Mapping[str, Any], number: int) -> str:
    """A trial's number, with its reason when it stopped early (``"7 (pruned)"``)."""
    reason = stopped_trials(report).get(int(number))
    return str(number) if reason is None else f"{number} ({reason})"


def _n_test(report: Mapping[str, Any], number: int) -> int | None:
    """Size of the in-domain held-out split a trial's test accuracy counts."""
    in_domain = report["datasets"][0]["name"]
    for t in report["trials"]:
        if t["number"] == number:
            n = (t.get("datasets") or {}).get(in_domain, {}).get("n_test")
            return int(n) if n else None
    return None


def _gap(report: Mapping[str, Any], gap: float | None, number: int) -> str:
    """A gap in points, signed (``legend.GAP_KEY`` says what the sign means), and in test
    images of the test set's size: ``+0.56 (= +2 of 360 test images)``, ``0.00 (= 0 of
    360 test images)``; with seeds, the noise floor follows (``points.noise_suffix``)."""
    if gap is None:
        return "-"
    n_test, noise = _n_test(report, number), noise_suffix(report, number)
    if not n_test:
        return ("0.00" if gap == 0 else f"{100 * gap:+.2f}") + (f" ({noise[2:]})" if noise else "")
    if "noise_floor" in report:  # seed means: a gap is not a whole number of images
        points, count = (f"{100 * gap:+.2f}", f"{gap * n_test:+.1f}") if gap else ("0.00", "0")
        return f"{points} (= {count} of {n_test:,} test images{noise})"
    images = round(gap * n_test)  # a whole number of images: the gap is k / n_test
    points, count = (f"{100 * gap:+.2f}", f"{images:+d}") if images else ("0.00", "0")
    return f"{points} (= {count} of {n_test:,} test images)"


def selection_table(report: Mapping[str, Any], key: str = "selection",
                    ) -> tuple[list[str], list[list[str]]]:
    """Header and rows: one row per method and criterion, as in the paper's Table 1.

    Columns: method, criterion, picked trial, the criterion's metric value (none for the
    oracle), the pick's validation and in-domain test accuracy (%), its gap to the oracle
    pick (points), then the test accuracy on each out-of-distribution dataset and their
    mean.
    """
    datasets = [d["name"] for d in report["datasets"]]
    ood = datasets[1:]
    header = ["Method", "Criterion", "Trial", "Metric value", "val %",
              f"{datasets[0]} test %", "Gap (pts)"]
    header += [f"{name} %" for name in ood] + (["OOD mean %"] if ood else [])
    rows = []
    for method, picks in report[key].items():
        for criterion in ["oracle", *report["metrics"]]:
            if criterion not in picks:
                continue
            p = picks[criterion]
            row = [method, criterion_label(criterion),
                   point_cell(p, trial_cell(report, p["trial"])), _num(p.get("value")),
                   _pct(p["val_acc"]),
                   _pct(p["test_acc"]), _gap(report, p.get("gap"), p["trial"])]
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
    """Header and rows: Kendall's tau and Spearman's rho (95% bootstrap CI) per metric; n
    counts the trials correlated, Stopped the method's trials stopped early."""
    header = ["Method", "Metric", "n", "Stopped", "Kendall tau", "tau 95% CI",
              "Spearman rho", "rho 95% CI"]
    rows = []
    stopped = stopped_trials(report)
    included = report.get("stopped", {}).get("included", False)

    def ci(value: Sequence[float] | None) -> str:
        return "-" if not value else f"[{value[0]:+.2f}, {value[1]:+.2f}]"

    for method, per_metric in report[key].items():
        n_stopped = sum(t["method"] == method and t["number"] in stopped
                        for t in report["trials"])
        stop_cell = f"{n_stopped} {'included' if included else 'left out'}" if n_stopped \
            else "0"
        for metric, c in per_metric.items():
            rows.append([method, criterion_label(metric), str(c["n"]), stop_cell,
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


def _numbers(numbers: Sequence[int]) -> str:
    """Trial numbers in runs: ``"trials 0-3, 5"``, ``"trial 4"``."""
    runs: list[list[int]] = []
    for n in sorted(numbers):
        if runs and n == runs[-1][-1] + 1:
            runs[-1].append(n)
        else:
            runs.append([n])
    spans = [str(r[0]) if len(r) == 1 else f"{r[0]}-{r[-1]}" for r in runs]
    return f"trial{'s' if len(numbers) > 1 else ''} {', '.join(spans)}"


def bank_line(report: Mapping[str, Any]) -> str:
    """One line: how many images the label-free metrics were measured on; when the trials
    differ, which trials used which size (``1,077 (trials 0-3, 5) or 192 (trial 4)``)."""
    def sizes(key: str) -> str:
        by_size: dict[int, list[int]] = {}
        for t in report["trials"]:
            if t.get(key) is not None:
                by_size.setdefault(int(t[key]), []).append(int(t["number"]))
        if len(by_size) < 2:
            return "".join(f"{n:,}" for n in by_size) or "unknown"
        return " or ".join(f"{n:,} ({_numbers(by_size[n])})"
                           for n in sorted(by_size, key=lambda n: min(by_size[n])))

    return (f"Label-free metrics: measured after training on {sizes('objective_bank_size')} "
            f"un-augmented training images (the objective bank, column Bank); the per-epoch "
            f"values the pruner read used {sizes('monitor_bank_size')}.")


def stopped_line(report: Mapping[str, Any]) -> str:
    """One line: the rule on trials stopped early, and which trials it concerns."""
    stopped = stopped_trials(report)
    rule = ("Trials stopped early (Optuna state PRUNED, or training status pruned or "
            "diverged)")
    unprobed = [s for s in report["study"].get("skipped") or [] if s.get("stopped")]
    before = ("" if not unprobed else
              f" {len(unprobed)} more stopped before their first checkpoint and have no "
              "features to probe, so no accuracy: "
              + ", ".join(f"{s['number']} ({s['stopped']})" for s in unprobed) + ".")
    if not stopped:
        return f"{rule}: none among the evaluated trials.{before}"
    listed = ", ".join(f"{n} ({r})" for n, r in sorted(stopped.items()))
    total = len(report["trials"])
    if report.get("stopped", {}).get("included", False):
        return (f"{rule} are included in the selection and the correlations "
                f"(compare.include_stopped=true): {len(stopped)} of {total} evaluated trials, "
                f"marked in the tables and figures: {listed}.{before}")
    return (f"{rule} are left out of the selection and the correlations; they stay in the "
            f"tables and figures, marked: {len(stopped)} of {total} evaluated trials left out: "
            f"{listed}. compare.include_stopped=true includes them.{before}")


def stopped_caption(report: Mapping[str, Any]) -> str:
    """The trials stopped early in a few words (under the selection table's image)."""
    stopped = stopped_trials(report)
    if not stopped:
        return ""
    how = ("included in" if report.get("stopped", {}).get("included", False)
           else "left out of")
    listed = ", ".join(f"{n} ({r})" for n, r in sorted(stopped.items()))
    return f"Stopped early, {how} the selection: {listed}"


def mean_gap_line(report: Mapping[str, Any]) -> str:
    """One line: each criterion's gap to the oracle, averaged over methods, in points."""
    parts = [f"{criterion_label(m)} {100 * g:+.2f}"
             for m, g in report.get("mean_gap", {}).items() if g is not None]
    return "mean gap to the oracle over methods (pts): " + (", ".join(parts) or "-")


def trials_table(report: Mapping[str, Any]) -> tuple[list[str], list[list[str]]]:
    """Header and rows: every evaluated trial with its params, metrics and accuracies; Run
    says whether it trained to the end or stopped early (and then, whether it was selected
    among), and for a retry, which trial it retried."""
    metrics = [m for m in report["metrics"]
               if any(t.get(m) is not None for t in report["trials"])]
    stopped = stopped_trials(report)
    included = report.get("stopped", {}).get("included", False)

    def run(number: int, retried: int | None) -> str:
        retry = "" if retried is None else f", retry of #{retried}"  # it reused that run dir
        if number not in stopped:
            return f"completed{retry}"
        return f"{stopped[number]}, {'included' if included else 'left out'}{retry}"

    header = ["Trial", "Method", "Run", "Params",
              *[criterion_label(m) for m in metrics],
              "Bank", "val %", "test %", "kNN test %"]
    rows = [[str(t["number"]), str(t["method"]), run(t["number"], t.get("retry_of")),
             ", ".join(f"{k}={_num(v)}" for k, v in sorted(t["params"].items())),
             *[_num(t.get(m)) for m in metrics], _num(t.get("objective_bank_size")),
             _pct(t["val_acc"]), _pct(t["test_acc"]), _pct(t["knn_test_acc"])]
            for t in report["trials"]]
    return header, rows


def _pick_cell(report: Mapping[str, Any], entry: Mapping[str, Any], axis: str) -> str:
    trial = next(t for t in report["trials"] if t["number"] == entry["trial"])
    return (f"{_num(trial['params'][axis])} (#{trial_cell(report, entry['trial'])}, "
            f"{_pct(entry['test_acc'])}%)")


def axis_table(report: Mapping[str, Any]) -> tuple[list[str], list[list[str]]]:
    """Header and rows: along each swept axis (others fixed), the oracle and RankMe picks."""
    header = ["Method", "Axis", "Fixed", "Trials", "Oracle pick",
              f"{label_of('rankme')} pick", "Gap (pts)"]
    rows = []
    for method, axes in report.get("selection_by_axis", {}).items():
        for axis, lines in axes.items():
            for line in lines:
                sel = line["selection"]
                if "oracle" not in sel or "rankme" not in sel:
                    continue
                fixed = ", ".join(f"{k}={_num(v)}" for k, v in line["fixed"].items())
                rows.append([method, axis, fixed, str(len(line["trials"])),
                             _pick_cell(report, sel["oracle"], axis),
                             _pick_cell(report, sel["rankme"], axis),
                             _gap(report, sel["rankme"]["gap"], sel["rankme"]["trial"])])
    return header, rows


def axis_notes(report: Mapping[str, Any]) -> list[str]:
    """One line per method and swept axis without a line to select along, saying why."""
    return [f"{method}, {axis}: no line to select along: {reason}."
            for method, axes in report.get("axes_without_lines", {}).items()
            for axis, reason in axes.items()]
