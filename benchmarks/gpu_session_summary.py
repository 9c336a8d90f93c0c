"""Headline lines of ``gpu_session.sh``'s outputs, one mode per kind of output.

    python benchmarks/gpu_session_summary.py smi FILE.csv      # nvidia-smi samples
    python benchmarks/gpu_session_summary.py json FILE.log     # profile_step / bench_gpu_preset
    python benchmarks/gpu_session_summary.py study DIR T       # a study's trial-epochs per hour

``smi``: utilization over every 200 ms sample of the step (start-up and the objective
included, so the training epochs alone run higher). ``study``: T trials ran at once on one
GPU; trial-epochs per hour from the study's wall time (first ``config.yaml`` written to last
``metrics.json``, start-up included) and from the trials' last epochs (steady: T x 3600 /
median epoch seconds).
"""

from __future__ import annotations

import json
import math
import statistics
import sys
from pathlib import Path
from typing import Any


def smi(path: Path) -> str:
    util, mem = [], []
    for line in path.read_text().splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) == 3 and parts[1].isdigit():
            util.append(int(parts[1]))
            mem.append(int(parts[2]))
    if not util:
        return f"smi {path.stem}: no samples"
    p90 = sorted(util)[math.ceil(0.9 * len(util)) - 1]  # nearest rank
    return (f"smi {path.stem}: {len(util)} samples, GPU utilization mean "
            f"{statistics.mean(util):.0f}%, median {statistics.median(util):.0f}%, p90 {p90}%, "
            f"memory used max {max(mem)} MiB")


def _profile(r: dict[str, Any]) -> list[str]:
    rows = []
    for variant, v in r["variants"].items():
        ph = v["phase_ms"]
        total = sum(x for k, x in ph.items() if not k.startswith("views:"))
        top = sorted(((x, k) for k, x in ph.items() if not k.startswith("views:")),
                     reverse=True)[:3]
        rows.append(f"profile {r['experiment']} {variant}: {v['images_per_s']} images/s, "
                    f"device busy {v['device_busy_share']}, monitor "
                    f"{v['monitor_share_of_epoch']:.2%} of an epoch; synchronized phases: "
                    + ", ".join(f"{k} {x / total:.0%}" for x, k in top))
    return rows


def json_lines(path: Path) -> str:
    rows: list[str] = []
    for line in path.read_text().splitlines():
        if not line.startswith("{"):
            continue
        try:
            r = json.loads(line)
        except json.JSONDecodeError:
            continue
        if r.get("benchmark") == "profile_step":
            rows += _profile(r)
        elif r.get("benchmark") == "bench_gpu_preset":
            rows.append(f"{path.stem} {r['experiment']}: {r['images_per_s']} images/s "
                        f"(epochs {r['epoch_seconds']}), monitor "
                        f"{r['monitor_share_of_epoch']:.2%} of an epoch, peak "
                        f"{r['peak_gpu_allocated_gib']} GiB, status {r['status']}")
    return "\n".join(rows) or f"{path.stem}: no results"


def study(folder: Path, per_gpu: int) -> str:
    records = [json.loads(p.read_text()) | {"_mtime": p.stat().st_mtime}
               for p in folder.rglob("metrics.json")]
    starts = [p.stat().st_mtime for p in folder.rglob("config.yaml")]
    if not records or not starts:
        return f"study {folder} (trials_per_gpu={per_gpu}): no finished trials"
    epochs = sum(int(r.get("epochs", 0)) for r in records)
    wall = max(r["_mtime"] for r in records) - min(starts)
    last = [r["timings"]["epoch_seconds"][-1] for r in records
            if r.get("timings", {}).get("epoch_seconds")]
    steady = per_gpu * 3600 / statistics.median(last) if last else float("nan")
    return (f"study trials_per_gpu={per_gpu}: {len(records)} trials, {epochs} epochs in "
            f"{wall:.0f} s = {epochs * 3600 / max(wall, 1e-9):.0f} trial-epochs/h (wall, "
            f"start-up included); steady {steady:.0f} trial-epochs/h (last epoch median "
            f"{statistics.median(last) if last else float('nan'):.1f} s per trial)")


def main() -> None:
    mode, *args = sys.argv[1:]
    if mode == "smi":
        print(smi(Path(args[0])))
    elif mode == "json":
        print(json_lines(Path(args[0])))
    elif mode == "study":
        print(study(Path(args[0]), int(args[1])))
    else:
        raise SystemExit(f"unknown mode {mode!r}; choose one of: smi, json, study")


if __name__ == "__main__":
    main()
