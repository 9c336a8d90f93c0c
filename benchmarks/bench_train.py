"""Training throughput of the project's Lightning step against a plain PyTorch loop.

Both sides run in this process on the same config: the same method (backbone, heads,
loss), the same batches (``EpochBatchSampler``), the same batched views, optimizer,
per-step schedule, EMA update and precision. The project's side is ``sweeper.ssl.train``
with the monitor and checkpoints off (so it times the training step alone); the plain side
is a ``for`` loop over the same parts. Runs alternate (project, plain, project, ...); the
first epoch of every run is warm-up and dropped. On a shared machine other load only adds
time, so the headline figures use each side's fastest epoch; medians are printed beside.

The monitor's share is measured separately: ``train`` with the monitor on (every epoch),
fastest monitor call / fastest epoch (and the ratio of the medians).

Usage::

    .venv/bin/python benchmarks/bench_train.py [--epochs 6] [--rounds 3] [overrides...]

Prints one JSON object as its last line.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightly.models.utils import update_momentum
from lightly.utils.scheduler import cosine_schedule
from omegaconf import DictConfig

from sweeper.config import compose_config
from sweeper.ssl import train
from sweeper.ssl.build import build_parts
from sweeper.ssl.data.loader import EpochBatchSampler, make_loader
from sweeper.ssl.optim import build_optimizer, lr_lambda


def plain_loop(cfg: DictConfig, epochs: int) -> list[float]:
    """Seconds per epoch of a hand-written loop doing the project's work."""

    L.seed_everything(int(cfg.seed), verbose=False)
    parts = build_parts(cfg)
    method, views = parts.method, parts.views
    batch = int(cfg.optimizer.batch_size)
    sampler = EpochBatchSampler(len(parts.train_set), batch, seed=int(cfg.seed))
    loader = make_loader(parts.train_set, sampler)
    steps = len(sampler)
    opt = build_optimizer(method, cfg.optimizer)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lr_lambda(cfg.scheduler, float(cfg.optimizer.lr), steps, int(cfg.max_epochs)))
    bf16 = "bf16" in str(cfg.precision)
    total, step = steps * int(cfg.max_epochs), 0
    method.train()
    out = []
    for epoch in range(epochs):
        sampler.set_epoch(epoch)
        started = time.perf_counter()
        for images, _ in loader:
            with torch.no_grad():
                v = views(images)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                loss = method.loss(v, epoch)
            if not math.isfinite(float(loss.detach())):
                raise RuntimeError("diverged")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            method.after_backward(epoch)
            opt.step()
            sched.step()
            step += 1
            tau = cosine_schedule(min(step, total), total, float(cfg.momentum.base_tau),
                                  float(cfg.momentum.final_tau))
            for online, target in method.momentum_pairs():
                update_momentum(online, target, m=tau)
        out.append(time.perf_counter() - started)
    return out


def project_loop(cfg: DictConfig, epochs: int, monitor: bool = False) -> dict[str, Any]:
    """``sweeper.ssl.train`` for ``epochs`` epochs; returns its metrics."""
    del cfg  # recomposed with the run's switches, same values otherwise
    with tempfile.TemporaryDirectory() as tmp:
        run = compose_config([*OVERRIDES, f"max_epochs={epochs}",
                              f"monitor.enabled={str(monitor).lower()}",
                              "checkpoint.enabled=false"])
        return train(run, Path(tmp))


OVERRIDES: list[str] = []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("overrides", nargs="*", help="Hydra overrides of conf/train.yaml")
    args = parser.parse_args()
    OVERRIDES[:] = args.overrides

    cfg = compose_config([*args.overrides, f"max_epochs={args.epochs}"])
    batch = int(cfg.optimizer.batch_size)
    ours, plain = [], []
    steps_per_epoch = 0
    for _ in range(args.rounds):
        m = project_loop(cfg, args.epochs)
        steps_per_epoch = m["global_step"] // m["epochs"]
        ours += m["timings"]["epoch_seconds"][1:]
        plain += plain_loop(cfg, args.epochs)[1:]
    images = steps_per_epoch * batch
    # On a shared machine other load only ever adds time: the fastest epoch of each side is
    # the cleanest estimate; the medians are reported beside it.
    ours_ips, plain_ips = images / min(ours), images / min(plain)

    epochs, calls = [], []
    for _ in range(args.rounds):
        t = project_loop(cfg, args.epochs, monitor=True)["timings"]
        epochs += t["epoch_seconds"][1:]
        calls += t["monitor_call_seconds"][1:]
    result = {
        "benchmark": "bench_train",
        "config": {"method": str(cfg.method), "backbone": str(cfg.backbone.name),
                   "data": str(cfg.data.dataset), "batch_size": batch,
                   "precision": str(cfg.precision), "accelerator": str(cfg.accelerator),
                   "epochs": args.epochs, "rounds": args.rounds,
                   "overrides": args.overrides},
        "machine": {"cpu_threads": torch.get_num_threads(), "python": platform.python_version(),
                    "torch": torch.__version__},
        "project_images_per_s": round(ours_ips, 1),
        "plain_images_per_s": round(plain_ips, 1),
        "ratio": round(ours_ips / plain_ips, 3),
        "ratio_of_medians": round(statistics.median(plain) / statistics.median(ours), 3),
        "monitor_seconds_per_call": round(min(calls), 4),
        "epoch_seconds": round(min(epochs), 4),
        "monitor_share_of_epoch": round(min(calls) / min(epochs), 4),
        "monitor_share_of_epoch_medians": round(statistics.median(calls)
                                                / statistics.median(epochs), 4),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
