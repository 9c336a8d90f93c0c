"""One training step of a preset taken apart: where the time goes, lever by lever.

The step is the training module's (:class:`sweeper.ssl.module.SSLModule`) written out as a
loop over the same parts: batch fetch, host-to-device copy, each view op, forward (the
method's loss under the run's autocast), the loss check (the module's divergence test, a
host sync), backward, optimizer step (GradScaler under ``16-mixed``); then one call of the
RankMe monitor on the preset's per-epoch bank, as a share of an epoch. Lightning's own
overhead is not in it (``bench_train.py``: within 1-7% of a plain loop on the CPU).

Each preset runs once per variant, the levers of issue 19 added one at a time:
``loader`` (loader and copy per step, default memory format, :class:`SoloLARS`: the step
before the levers), ``+on_device`` (images held on the device, ``data.on_device``),
``+channels_last``, ``+foreach_lars`` (:class:`ForeachLARS`; on CUDA this is the module's
default step). Two passes per variant:

- phases: every phase synchronized (``torch.cuda.synchronize``) and timed alone; the
  shares of a serialized step. On a GPU the unsynchronized step overlaps host and device
  work, so these shares say where the device or the host spends time, not what overlaps.
- steady: ``--steps`` steps unsynchronized: images/s of the loop; then half as many under
  ``torch.profiler``: on CUDA the device's busy share (kernel and copy time / wall time of
  the profiled steps, the profiler's overhead included) and the top ops per step.

Usage::

    CIFAR10_DIR=../shared/data/cifar10 python benchmarks/profile_step.py \\
        [--experiment paper_vicreg_cifar10 --experiment paper_simclr_cifar10] \\
        [--steps 30] [--warmup 5] [--variants loader,+on_device,...] [overrides...]
    # on a 2-core CPU: a small batch, few steps (precision forced to 32)
    python benchmarks/profile_step.py --steps 3 --warmup 1 optimizer.batch_size=32

Prints a table per preset and variant, and one JSON object per preset as its last lines.
"""

from __future__ import annotations

import argparse
import copy
import json
import platform
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

import torch
from omegaconf import DictConfig
from torch.profiler import ProfilerActivity, profile, record_function

from sweeper.config import compose_config
from sweeper.ssl.build import bank_loader, build_parts, checked_config
from sweeper.ssl.data import views as views_module
from sweeper.ssl.data.images import TensorImages
from sweeper.ssl.data.loader import EpochBatchSampler, make_loader
from sweeper.ssl.data.on_device import DeviceBatches
from sweeper.ssl.lars_foreach import ForeachLARS
from sweeper.ssl.module import SSLModule
from sweeper.ssl.monitor import RankMeMonitor
from sweeper.ssl.monitor_settings import read_monitor
from sweeper.ssl.optim import build_optimizer, scaled_lr
from sweeper.study.settings import split_config

VARIANTS = ("loader", "+on_device", "+channels_last", "+foreach_lars")


class Timer:
    """Seconds per named phase; with ``sync`` each phase is synchronized and timed alone."""

    def __init__(self, device: torch.device, sync: bool) -> None:
        self.device, self.sync = device, sync
        self.seconds: dict[str, float] = defaultdict(float)

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        if self.sync and self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        started = time.perf_counter()
        with record_function(name):
            yield
        if self.sync and self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        self.seconds[name] += time.perf_counter() - started


TIMER: list[Timer] = []  # the current timer, read by the view-op wrappers


def _instrument_views() -> None:
    """Time each view op of every pipeline under ``views:<op>`` (this process only)."""
    pipe = views_module._Pipeline

    def timed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def run(*args: Any, **kwargs: Any) -> Any:
            with TIMER[-1](name if name else f"views:{args[2]}"):
                return fn(*args, **kwargs)
        return run

    pipe.geometry = timed("views:crop+resize+flip", pipe.geometry)  # type: ignore[method-assign]
    pipe.color_jitter = timed("views:color_jitter", pipe.color_jitter)  # type: ignore[method-assign]
    pipe._apply = timed("", pipe._apply)  # type: ignore[method-assign]


def _batches(cfg: DictConfig, train_set: Any, device: torch.device, on_device: bool
             ) -> Iterator[tuple[torch.Tensor, ...]]:
    """Training batches, epoch after epoch, as the module's loader or DeviceBatches."""
    sampler = EpochBatchSampler(len(train_set), int(cfg.optimizer.batch_size), seed=0)
    if on_device:
        source: Any = DeviceBatches(train_set, sampler, device)
    else:
        source = make_loader(train_set, sampler, num_workers=int(cfg.data.num_workers),
                             pin_memory=device.type == "cuda")
    epoch = 0
    while True:
        sampler.set_epoch(epoch)
        yield from source
        epoch += 1


def run_variant(cfg: DictConfig, parts: Any, device: torch.device, levers: set[str],
                steps: int, warmup: int) -> dict[str, Any]:
    model = copy.deepcopy(parts.method).to(device)
    cl = "+channels_last" in levers
    if cl:
        model = model.to(memory_format=torch.channels_last)
    batch = int(cfg.optimizer.batch_size)
    opt = build_optimizer(model, cfg.optimizer, lr=scaled_lr(float(cfg.optimizer.lr), batch, 1),
                          static_lr_modules=model.static_lr_modules(),
                          own_lr_modules=model.own_lr_modules(),
                          lars=ForeachLARS if "+foreach_lars" in levers else None)
    precision = str(cfg.precision) if device.type == "cuda" else "32"
    half = torch.float16 if precision in ("16", "16-mixed") else (
        torch.bfloat16 if "bf16" in precision else None)
    scaler = torch.amp.GradScaler(device.type, enabled=half is torch.float16)
    data = _batches(cfg, parts.train_set, device, "+on_device" in levers)
    ids = model.uses_sample_ids

    def step(t: Timer) -> None:
        with t("fetch"):
            b = next(data)
        with t("h2d copy"):
            images = b[0].to(device, non_blocking=True)
            if cl:
                images = images.contiguous(memory_format=torch.channels_last)
        with t("views"), torch.no_grad():
            views = parts.views(images)
        with t("forward"):
            amp = torch.autocast(device.type, dtype=half) if half is not None else nullcontext()
            with amp:
                extra = {"sample_ids": b[-1].to(device)} if ids else {}
                loss = model.loss(views, 0, **extra)
        with t("loss check (sync)"):
            float(loss.detach())
        with t("backward"):
            scaler.scale(loss).backward()
            model.after_backward(0)
        with t("optimizer"):
            scaler.step(opt)
            scaler.update()
            opt.zero_grad(set_to_none=True)

    TIMER.append(Timer(device, sync=False))
    for _ in range(warmup):
        step(TIMER[-1])
    phases = TIMER[-1] = Timer(device, sync=True)
    for _ in range(max(1, steps // 2)):
        step(phases)
    steady = TIMER[-1] = Timer(device, sync=False)
    started = time.perf_counter()  # images/s without the profiler's own overhead
    for _ in range(steps):
        step(steady)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    step_s = (time.perf_counter() - started) / steps
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda"
                                           else [])
    n_prof = max(1, steps // 2)
    with profile(activities=activities) as prof:
        started = time.perf_counter()
        for _ in range(n_prof):
            step(steady)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        wall = time.perf_counter() - started
    TIMER.pop()
    n_phase = max(1, steps // 2)
    ph = {k: v / n_phase for k, v in phases.seconds.items()}
    averages = prof.key_averages()
    kernel = sum(getattr(e, "self_device_time_total", 0.0) for e in averages) / 1e6
    top_key = "self_device_time_total" if device.type == "cuda" else "self_cpu_time_total"
    top = sorted(averages, key=lambda e: getattr(e, top_key, 0.0), reverse=True)[:8]
    monitor_s = _monitor_call(cfg, model, parts, device)
    per_epoch = len(parts.train_set) // batch
    return {"levers": sorted(levers), "images_per_s": round(batch / step_s, 1),
            "step_ms": round(step_s * 1e3, 2),
            "phase_ms": {k: round(v * 1e3, 3) for k, v in ph.items()},
            "device_busy_share": round(kernel / wall, 3) if device.type == "cuda" else None,
            "top_ops_ms": {e.key: round(getattr(e, top_key, 0.0) / 1e3 / n_prof, 3)
                           for e in top},
            "monitor_call_s": round(monitor_s, 4),
            "monitor_share_of_epoch": round(monitor_s / (per_epoch * step_s), 4)}


def _monitor_call(cfg: DictConfig, model: Any, parts: Any, device: torch.device) -> float:
    """Seconds of one RankMe monitor call on the per-epoch bank (the second of two)."""
    mon = read_monitor(cfg.monitor)
    module = SSLModule(cfg, model, parts.views, parts.train_set).to(device)
    bank = bank_loader(parts.train_set, mon.bank_size, mon.seed, mon.batch_size,
                       num_workers=int(cfg.data.num_workers), pin_memory=device.type == "cuda")
    monitor = RankMeMonitor(bank, parts.eval_view, every_n_epochs=1, enabled=True)
    seconds = 0.0
    for _ in range(2):
        started = time.perf_counter()
        monitor.measure(module)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        seconds = time.perf_counter() - started
    return seconds


def _table(name: str, result: dict[str, Any]) -> str:
    ph = result["phase_ms"]
    total = sum(v for k, v in ph.items() if not k.startswith("views:"))
    rows = [f"{name}: {result['images_per_s']} images/s, step {result['step_ms']} ms "
            f"(device busy {result['device_busy_share']}), monitor call "
            f"{result['monitor_call_s']} s = {result['monitor_share_of_epoch']:.1%} of an epoch",
            f"  {'phase (synchronized)':32} {'ms/step':>9} {'share':>7}"]
    for k, v in ph.items():
        rows.append(f"  {('  ' if k.startswith('views:') else '') + k:32} {v:9.2f} "
                    f"{v / total:7.1%}")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--experiment", action="append")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides of the preset")
    args = parser.parse_args()
    device = torch.device(args.device)
    wanted = args.variants.split(",")
    unknown = [v for v in wanted if v not in VARIANTS]
    if unknown:
        parser.error(f"--variants: unknown {unknown}; choose from {', '.join(VARIANTS)}")
    _instrument_views()
    machine = {"device": torch.cuda.get_device_name(device) if device.type == "cuda"
               else f"cpu ({torch.get_num_threads()} threads)",
               "torch": torch.__version__, "python": platform.python_version()}
    for experiment in args.experiment or ["paper_vicreg_cifar10"]:
        cfg = compose_config([f"experiment={experiment}", *args.overrides],
                             config_name="sweep")
        train_cfg = checked_config(split_config(cfg)[0])
        torch.manual_seed(0)
        parts = build_parts(train_cfg)
        if not isinstance(parts.train_set, TensorImages):
            raise SystemExit(f"{experiment}: the training images are not in memory")
        results = {}
        for i, variant in enumerate(VARIANTS):
            if variant in wanted:
                torch.manual_seed(0)
                results[variant] = run_variant(train_cfg, parts, device,
                                               set(VARIANTS[1:i + 1]), args.steps, args.warmup)
                print(_table(f"{experiment} {variant}", results[variant]), flush=True)
        print(json.dumps({"benchmark": "profile_step", "experiment": experiment,
                          "batch_size": int(train_cfg.optimizer.batch_size),
                          "precision": str(train_cfg.precision) if device.type == "cuda"
                          else "32", "steps": args.steps, "machine": machine,
                          "variants": results}), flush=True)


if __name__ == "__main__":
    main()
