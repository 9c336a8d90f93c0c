"""A paper preset (ResNet-18 on CIFAR-10) trained for a few epochs with the monitor on.

Records what a GPU run of the preset costs: images/s and seconds of a steady epoch, the
per-epoch monitor's seconds and share of an epoch, the end-of-run objective's seconds (its
25,600-image bank), peak GPU memory, and the one-off image-cache build. The run is the
preset's centre point (its own defaults), composed exactly as a trial of its study is, with
``max_epochs`` and checkpoints overridden.

Usage (CIFAR10_DIR: the image folders, train/<class>/*.jpg and test/<class>/*.jpg)::

    CIFAR10_DIR=../shared/data/cifar10 python benchmarks/bench_gpu_preset.py \\
        [--experiment paper_vicreg_cifar10] [--epochs 3] [overrides...]

Prints one JSON object per preset as its last lines. Epoch 1 holds cuDNN's autotuning and
the first loader start, so the steady figures are medians of epochs 2..N.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from sweeper.config import compose_config
from sweeper.ssl import train
from sweeper.ssl.build import build_parts, checked_config
from sweeper.study.settings import split_config


def run_preset(experiment: str, epochs: int, overrides: list[str]) -> dict[str, Any]:
    cfg = compose_config([f"experiment={experiment}", f"max_epochs={epochs}",
                          "checkpoint.enabled=false", *overrides], config_name="sweep")
    train_cfg, _ = split_config(cfg)

    # The image cache is built once per dataset; time that apart from the training run.
    started = time.perf_counter()
    parts = build_parts(checked_config(train_cfg))
    cache_seconds = time.perf_counter() - started
    n_train = len(parts.train_set)
    del parts

    if torch.cuda.is_available():
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        metrics = train(train_cfg, Path(tmp))
        wall = time.perf_counter() - started
    t = metrics["timings"]
    batch = int(train_cfg.optimizer.batch_size)
    images = metrics["global_step"] // metrics["epochs"] * batch
    steady = t["epoch_seconds"][1:] or t["epoch_seconds"]
    calls = t["monitor_call_seconds"][1:] or t["monitor_call_seconds"]
    epoch_s, call_s = statistics.median(steady), statistics.median(calls) if calls else 0.0
    return {
        "benchmark": "bench_gpu_preset",
        "experiment": experiment,
        "method": str(train_cfg.method),
        "backbone": str(train_cfg.backbone.name),
        "precision": str(train_cfg.precision),
        "batch_size": batch,
        "train_images": n_train,
        "images_per_epoch": images,
        "epochs": metrics["epochs"],
        "status": metrics["status"],
        "epoch_seconds": t["epoch_seconds"],
        "steady_epoch_seconds": round(epoch_s, 3),
        "images_per_s": round(images / epoch_s, 1),
        "monitor_bank": int(train_cfg.monitor.bank_size),
        "monitor_call_seconds": t["monitor_call_seconds"],
        "monitor_share_of_epoch": round(call_s / epoch_s, 4),
        "objective_bank": metrics["objective_bank_size"],
        "objective_seconds": t["objective_seconds"],
        "fit_seconds": t["fit_seconds"],
        "wall_seconds": round(wall, 2),
        "image_cache_build_or_load_seconds": round(cache_seconds, 2),
        "peak_gpu_allocated_gib": round(torch.cuda.max_memory_allocated() / 2**30, 3)
        if torch.cuda.is_available() else None,
        "peak_gpu_reserved_gib": round(torch.cuda.max_memory_reserved() / 2**30, 3)
        if torch.cuda.is_available() else None,
        "rankme": metrics.get("rankme"),
        "rankme_projector": metrics.get("rankme_projector"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--experiment", action="append",
                        help="a conf/experiment preset (repeatable); default paper_vicreg_cifar10")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("overrides", nargs="*", help="Hydra overrides of the preset")
    args = parser.parse_args()
    machine = {"gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
               "torch": torch.__version__, "python": platform.python_version()}
    print(json.dumps(machine), file=sys.stderr)
    for experiment in args.experiment or ["paper_vicreg_cifar10"]:
        result = run_preset(experiment, args.epochs, args.overrides)
        result["machine"] = machine
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
