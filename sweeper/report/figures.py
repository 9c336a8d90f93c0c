"""PNG figures of the report (matplotlib, Agg backend: no display needed).

- ``rankme_vs_accuracy.png``: RankMe against in-domain linear-probe test accuracy, one
  panel per method, RankMe and oracle picks marked (the paper's Figure 1).
- ``rankme_over_epochs.png``: RankMe along training, one line per trial, per method,
  coloured by test accuracy (colour bar).

Trials stopped early (pruned, diverged) are drawn apart in both: their own marker, dashed
lines on top of the others.
- ``selection_table.png``: the selection table as an image.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from sweeper.metrics.registry import label_of
from sweeper.report.tables import stopped_trials

__all__ = ["rankme_over_epochs", "rankme_vs_accuracy", "save_png", "table_figure"]

# no "Software" chunk: the PNG then names no web address either
PNG_METADATA: dict[str, Any] = {"Software": None}


def save_png(fig: Figure, path: Path) -> Path:
    """Write ``fig`` as PNG and close it."""
    fig.savefig(path, format="png", dpi=110, bbox_inches="tight", metadata=PNG_METADATA)
    plt.close(fig)
    return path


def _by_method(trials: Sequence[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    out: dict[str, list[Mapping[str, Any]]] = {}
    for t in trials:
        out.setdefault(str(t["method"]), []).append(t)
    return dict(sorted(out.items()))


def _panels(n: int) -> tuple[Figure, list[Any]]:
    fig, axes = plt.subplots(1, n, figsize=(5.2 * n, 4.6), squeeze=False, layout="constrained")
    return fig, list(axes[0])


def _in_domain(report: Mapping[str, Any]) -> str:
    return str(report["datasets"][0]["name"])


def _n_test(report: Mapping[str, Any], trials: Sequence[Mapping[str, Any]]) -> int | None:
    sizes = {(t.get("datasets") or {}).get(_in_domain(report), {}).get("n_test")
             for t in trials}
    return int(sizes.pop()) if len(sizes) == 1 and None not in sizes else None


def _stop_suffix(report: Mapping[str, Any]) -> str:
    return "included" if report.get("stopped", {}).get("included", False) else "left out"


def _pick_label(criterion: str) -> str:
    return "oracle pick (val acc)" if criterion == "oracle" else f"{label_of(criterion)} pick"


def _legend_below(ax: Any, ncol: int = 2, **kwargs: Any) -> None:
    """The panel's legend under its x axis, where it hides no point."""
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=ncol,
              numpoints=1, frameon=False, **kwargs)


# How a trial stopped early is drawn: scatter marker and line style.
STOP_MARKERS = {"pruned": "X", "diverged": "^"}
STOP_LINES = {"pruned": "--", "diverged": ":"}


def rankme_vs_accuracy(report: Mapping[str, Any], path: Path) -> Path:
    """RankMe vs linear-probe test accuracy (%) per method, picks marked; trials stopped
    early drawn apart; a right axis counts correct test images when the test set is small
    enough for that count to matter."""
    groups = _by_method(report["trials"])
    stopped = stopped_trials(report)
    suffix = _stop_suffix(report)
    fig, axes = _panels(len(groups))
    for ax, (method, trials) in zip(axes, groups.items(), strict=True):
        pts = [(t["rankme"], 100 * t["test_acc"], t["number"]) for t in trials
               if t.get("rankme") is not None]
        done = [p for p in pts if p[2] not in stopped]
        ax.scatter([p[0] for p in done], [p[1] for p in done], s=22, color="tab:blue",
                   alpha=0.75, label="trained to the end")
        for reason, marker in STOP_MARKERS.items():
            hit = [p for p in pts if stopped.get(p[2]) == reason]
            if hit:
                ax.scatter([p[0] for p in hit], [p[1] for p in hit], s=34, marker=marker,
                           color="tab:gray", label=f"{reason} ({suffix})")
        sel = report["selection"].get(method, {})
        for key, style in (("oracle", dict(marker="*", s=180, color="tab:orange")),
                           ("rankme", dict(marker="o", s=110, facecolors="none",
                                           edgecolors="tab:red", linewidths=1.8))):
            if key in sel:
                hit = [p for p in pts if p[2] == sel[key]["trial"]]
                if hit:
                    ax.scatter([hit[0][0]], [hit[0][1]], label=_pick_label(key), **style)
        n_test = _n_test(report, trials)
        if n_test:
            images = ax.secondary_yaxis("right", functions=(
                lambda pct, n=n_test: pct * n / 100, lambda c, n=n_test: c * 100 / n))
            images.set_ylabel(f"correct test images (of {n_test:,})")
            images.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(method)
        ax.set_xlabel(f"{label_of('rankme')} (effective rank)")
        ax.set_ylabel(f"{_in_domain(report)} linear-probe test accuracy (%)")
        ax.grid(alpha=0.3)
        _legend_below(ax)
    fig.suptitle("RankMe vs accuracy (within each method)")
    return save_png(fig, path)


def rankme_over_epochs(report: Mapping[str, Any], path: Path) -> Path:
    """RankMe along training, one line per trial, per method, coloured by test accuracy
    (colour bar); trials stopped early drawn on top, dashed, their last epoch marked."""
    groups = _by_method(report["trials"])
    stopped = stopped_trials(report)
    suffix = _stop_suffix(report)
    fig, axes = _panels(len(groups))
    cmap = plt.get_cmap("viridis")
    for ax, (method, trials) in zip(axes, groups.items(), strict=True):
        accs = [100 * t["test_acc"] for t in trials]
        lo, hi = min(accs), max(accs)
        norm = Normalize(lo - 0.5, hi + 0.5) if hi == lo else Normalize(lo, hi)
        kinds = set()
        for t in sorted(trials, key=lambda t: t["number"] in stopped):
            hist = [(h["epoch"], h["rankme"]) for h in t.get("history") or []
                    if h.get("epoch") is not None and h.get("rankme") is not None]
            if not hist:
                continue
            reason = stopped.get(t["number"])
            kinds.add(reason)
            colour = cmap(norm(100 * t["test_acc"]))
            xs, ys = [h[0] for h in hist], [h[1] for h in hist]
            if reason is None:
                ax.plot(xs, ys, color=colour, lw=1.2, zorder=2,
                        marker="." if len(hist) < 30 else None)
            else:
                ax.plot(xs, ys, color=colour, lw=2.0, ls=STOP_LINES[reason], zorder=3)
                ax.plot(xs[-1:], ys[-1:], color=colour, marker=STOP_MARKERS[reason], ms=8,
                        mec="black", mew=0.8, ls="none", zorder=4)
        if not kinds:
            ax.text(0.5, 0.5, "no per-epoch RankMe recorded", ha="center", va="center",
                    transform=ax.transAxes)
        handles = [Line2D([], [], color="tab:gray", lw=1.2, label="trained to the end")
                   if reason is None else
                   Line2D([], [], color="tab:gray", lw=2.0, ls=STOP_LINES[reason],
                          marker=STOP_MARKERS[reason], mec="black",
                          label=f"{reason} ({suffix}); marker: last epoch")
                   for reason in sorted(kinds, key=lambda r: r or "")]
        if handles:
            _legend_below(ax, ncol=1, handles=handles)
        bar = fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=ax, pad=0.02)
        bar.set_label(f"{_in_domain(report)} linear-probe test acc (%)", fontsize=8)
        ax.set_title(method)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(f"{label_of('rankme')} (effective rank)")
        ax.grid(alpha=0.3)
    fig.suptitle("RankMe over training epochs, one line per trial")
    return save_png(fig, path)


def _fitted(fig: Figure, text: str, max_px: float, fontsize: float) -> str:
    """``text`` wrapped, each paragraph (``\\n``) apart, so that no line is wider than
    ``max_px`` on ``fig``'s renderer; a long word may still overrun."""
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    chars = max(20, int(max_px / (0.5 * fontsize * fig.dpi / 72)))
    while True:
        wrapped = "\n".join(textwrap.fill(p, chars) for p in text.split("\n"))
        probe = fig.text(0, 0, wrapped, fontsize=fontsize)
        width = probe.get_window_extent(renderer).width
        probe.remove()
        if width <= max_px or chars <= 20:
            return wrapped
        chars = max(20, int(chars * max_px / width) - 1)


def table_figure(header: Sequence[str], rows: Sequence[Sequence[str]], title: str,
                 path: Path, caption: str = "") -> Path:
    """A table rendered as an image, ``caption`` under it (wrapped to the figure's width,
    which grows to the table's): every text inside the figure's frame."""
    width, start_h = max(6.0, 1.2 * len(header)), 0.6 + 0.28 * (len(rows) + 1)
    fig = plt.figure(figsize=(width, start_h))
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    ax.axis("off")
    table_h = 0.5  # the axes' height (in) that holds the table
    if rows:
        table = ax.table(cellText=[list(r) for r in rows], colLabels=list(header),
                         loc="center", cellLoc="center")
        table.auto_set_font_size(False)
        table.set_fontsize(8)
        table.scale(1.0, 1.25)
        table.auto_set_column_width(list(range(len(header))))
        fig.canvas.draw()  # the column widths are set when drawn
        box = table.get_window_extent()
        width = max(6.0, 0.3 + box.width / fig.dpi)
        table_h = 0.1 + box.height / fig.dpi
        table.scale(1.0, start_h / table_h)  # row heights are axes fractions: keep them
    else:
        ax.text(0.5, 0.5, "no rows", ha="center", va="center")
    fig.set_size_inches(width, table_h)
    fontsize = 8.0
    text = _fitted(fig, caption, 0.94 * width * fig.dpi, fontsize) if caption else ""
    caption_h = (text.count("\n") + 1) * 1.35 * fontsize / 72 + 0.2 if caption else 0.0
    height = 0.4 + table_h + caption_h
    fig.set_size_inches(width, height)
    # the title (0.4 in), the table, the caption
    ax.set_position((0.0, caption_h / height, 1.0, table_h / height))
    fig.suptitle(title, fontsize=10, y=1 - 0.08 / height, va="top")
    if text:
        fig.text(0.03, 0.06 / height, text, ha="left", va="bottom", fontsize=fontsize,
                 linespacing=1.35)
    return save_png(fig, path)
