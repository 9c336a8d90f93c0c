"""PNG figures of the report (matplotlib, Agg backend: no display needed).

- ``rankme_vs_accuracy.png``: RankMe against in-domain linear-probe test accuracy, one
  panel per method, RankMe and oracle picks marked (the paper's Figure 1).
- ``rankme_over_epochs.png``: RankMe along training, one line per trial, per method.
- ``selection_table.png``: the selection table as an image.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

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
    fig, axes = plt.subplots(1, n, figsize=(4.2 * n, 3.6), squeeze=False)
    return fig, list(axes[0])


def rankme_vs_accuracy(report: Mapping[str, Any], path: Path) -> Path:
    """RankMe vs linear-probe test accuracy (%) per method, picks marked."""
    groups = _by_method(report["trials"])
    fig, axes = _panels(len(groups))
    for ax, (method, trials) in zip(axes, groups.items(), strict=True):
        pts = [(t["rankme"], 100 * t["test_acc"], t["number"]) for t in trials
               if t.get("rankme") is not None]
        ax.scatter([p[0] for p in pts], [p[1] for p in pts], s=22, color="tab:blue",
                   alpha=0.75, label="trial")
        sel = report["selection"].get(method, {})
        for key, style in (("oracle", dict(marker="*", s=180, color="tab:orange")),
                           ("rankme", dict(marker="o", s=110, facecolors="none",
                                           edgecolors="tab:red", linewidths=1.8))):
            if key in sel:
                hit = [p for p in pts if p[2] == sel[key]["trial"]]
                if hit:
                    ax.scatter([hit[0][0]], [hit[0][1]], label=f"{key} pick", **style)
        ax.set_title(method)
        ax.set_xlabel("RankMe")
        ax.set_ylabel(f"{report['datasets'][0]['name']} linear probe test acc (%)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="best")
    fig.suptitle("RankMe vs accuracy (within each method)", y=1.04)
    return save_png(fig, path)


def rankme_over_epochs(report: Mapping[str, Any], path: Path) -> Path:
    """RankMe along training, one line per trial, per method."""
    groups = _by_method(report["trials"])
    fig, axes = _panels(len(groups))
    cmap = plt.get_cmap("viridis")
    for ax, (method, trials) in zip(axes, groups.items(), strict=True):
        accs = [t["test_acc"] for t in trials]
        lo, hi = min(accs), max(accs)
        for t in trials:
            hist = [(h["epoch"], h["rankme"]) for h in t.get("history") or []
                    if h.get("epoch") is not None and h.get("rankme") is not None]
            if not hist:
                continue
            shade = 0.5 if hi == lo else (t["test_acc"] - lo) / (hi - lo)
            ax.plot([h[0] for h in hist], [h[1] for h in hist], color=cmap(shade),
                    lw=1.2, marker="." if len(hist) < 30 else None)
        ax.set_title(f"{method} (colour: test acc, dark low / light high)", fontsize=9)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel("RankMe")
        ax.grid(alpha=0.3)
    fig.suptitle("RankMe over training epochs, per trial", y=1.04)
    return save_png(fig, path)


def table_figure(header: Sequence[str], rows: Sequence[Sequence[str]], title: str,
                 path: Path) -> Path:
    """A table rendered as an image."""
    height = 0.6 + 0.28 * (len(rows) + 1)
    fig, ax = plt.subplots(figsize=(max(6.0, 1.2 * len(header)), height))
    ax.axis("off")
    if rows:
        table = ax.table(cellText=[list(r) for r in rows], colLabels=list(header),
                         loc="center", cellLoc="center")
        table.auto_set_font_size(False)
        table.set_fontsize(8)
        table.scale(1.0, 1.25)
        table.auto_set_column_width(list(range(len(header))))
    else:
        ax.text(0.5, 0.5, "no rows", ha="center", va="center")
    ax.set_title(title, fontsize=10)
    return save_png(fig, path)
