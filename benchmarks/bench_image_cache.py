"""A CIFAR-10 training epoch from JPEG files decoded every epoch, against the same epoch from
the decoded-image cache, in one process.

Both sides train the same config (``data=cifar10`` on ../shared/data/cifar10, the
cifar10_cpu_vicreg preset's backbone and heads by default) for ``--epochs`` epochs with the
monitor and checkpoints off; the first epoch of each run is dropped (warm-up, and on the
cache side the one-off decode is timed separately). "files" is ``data.cache.enabled=false``:
the loader's workers decode and resize every JPEG each epoch, as before the cache.

Usage::

    .venv/bin/python benchmarks/bench_image_cache.py [--epochs 3] [--fraction 0.2] [overrides...]

Prints one JSON object as its last line.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time
from pathlib import Path

import torch

from sweeper.config import compose_config
from sweeper.ssl import train
from sweeper.ssl.data.datasets import build_dataset

ROOT = Path(__file__).resolve().parents[2] / "shared" / "data" / "cifar10"


def epoch_seconds(overrides: list[str], epochs: int) -> list[float]:
    cfg = compose_config(["data=cifar10", f"data.train_path={ROOT}", "backbone=small_cnn",
                          "method=vicreg", "method_kwargs.proj_hidden_dim=1024",
                          "method_kwargs.proj_output_dim=1024", "scheduler.warmup_epochs=0",
                          f"max_epochs={epochs}", "monitor.enabled=false",
                          "checkpoint.enabled=false", *overrides])
    with tempfile.TemporaryDirectory() as run_dir:
        return list(train(cfg, Path(run_dir))["timings"]["epoch_seconds"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--fraction", type=float, default=0.2)
    parser.add_argument("--workers", type=int, default=2, help="loader workers (files side)")
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_args()
    common = [f"data.fraction={args.fraction}", *args.overrides]
    with tempfile.TemporaryDirectory() as cache:
        started = time.perf_counter()
        cfg = compose_config(["data=cifar10", f"data.train_path={ROOT}",
                              f"data.cache.dir={cache}"])
        build_dataset(cfg.data, "train")
        decode = time.perf_counter() - started
        started = time.perf_counter()
        build_dataset(cfg.data, "train")
        reload = time.perf_counter() - started
        cached = epoch_seconds([*common, f"data.cache.dir={cache}", "data.num_workers=0"],
                               args.epochs)
    files = epoch_seconds([*common, "data.cache.enabled=false",
                           f"data.num_workers={args.workers}"], args.epochs)
    result = {
        "bench": "image_cache", "epochs": args.epochs, "fraction": args.fraction,
        "files_epoch_s": round(statistics.median(files[1:]), 2),
        "cached_epoch_s": round(statistics.median(cached[1:]), 2),
        "speedup": round(statistics.median(files[1:]) / statistics.median(cached[1:]), 2),
        "files_epochs": files, "cached_epochs": cached,
        "decode_50k_s": round(decode, 1), "reload_50k_s": round(reload, 2),
        "threads": torch.get_num_threads(), "machine": platform.processor() or platform.machine(),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
