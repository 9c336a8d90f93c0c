"""Local launcher: ``sweep.workers`` worker processes on this machine, with live progress.

Workers are fresh Python processes (never forks of a process that may hold CUDA or a
database connection). With GPUs each worker gets a disjoint block of devices through
``CUDA_VISIBLE_DEVICES``; on the CPU the workers share the cores, ``cores / workers`` torch
threads each.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import optuna
from rich.console import Console
from rich.live import Live

from sweeper.runtime import WORKER_INDEX_ENV, cores_per_worker, thread_env
from sweeper.study.interrupt import interrupted_lines, requeue_interrupted
from sweeper.study.launch_shape import LaunchShape
from sweeper.study.plan import SweepPlan
from sweeper.study.status import TrialEvents, sweep_progress
from sweeper.study.storage import open_storage

__all__ = ["assign_devices", "launch_local"]

# Seconds a worker has to end after SIGTERM on Ctrl-C before it is killed.
STOP_GRACE_S = 30


def _visible_gpus() -> list[str]:
    listed = os.environ.get("CUDA_VISIBLE_DEVICES")
    if listed is not None:
        return [d.strip() for d in listed.split(",") if d.strip() and d.strip() != "-1"]
    # The NVIDIA driver lists its GPUs here; reading it avoids importing torch (seconds).
    nvidia = Path("/proc/driver/nvidia/gpus")
    return [str(i) for i in range(len(list(nvidia.iterdir())))] if nvidia.is_dir() else []


def assign_devices(workers: int, gpus: list[str], world: int = 1,
                   trials_per_gpu: int = 1) -> list[str | None]:
    """``CUDA_VISIBLE_DEVICES`` per worker: disjoint blocks of ``len(gpus) // blocks``
    devices, ``trials_per_gpu`` workers to a block; with more one-device workers than GPUs,
    workers share GPUs round-robin; None on the CPU.

    Raises:
        ValueError: when ``world``-device trials would get fewer than ``world`` GPUs.
    """
    if not gpus:
        return [None] * workers
    blocks = -(-workers // trials_per_gpu)
    if blocks * world > len(gpus):
        if world > 1:
            raise ValueError(f"{blocks} workers whose trials train on devices={world} need "
                             f"{blocks * world} GPUs; {len(gpus)} are visible: lower "
                             "sweep.workers")
        return [gpus[(i // trials_per_gpu) % len(gpus)] for i in range(workers)]
    per = len(gpus) // blocks
    return [",".join(gpus[(i // trials_per_gpu) * per:(i // trials_per_gpu + 1) * per])
            for i in range(workers)]


def _worker_env(index: int, device: str | None, threads: int) -> dict[str, str]:
    env = dict(os.environ)
    env[WORKER_INDEX_ENV] = str(index)
    env.update(thread_env(threads))
    env["PYTHONUNBUFFERED"] = "1"
    if device is None:
        env["CUDA_VISIBLE_DEVICES"] = env.get("CUDA_VISIBLE_DEVICES", "")
    else:
        env["CUDA_VISIBLE_DEVICES"] = device
    return env


def _to_log_files(line: str) -> None:
    """Writes ``line`` to the root logger's files only (the command's log, e.g. Hydra's
    ``sweep.log``): the console already got it, and a stream handler would break the live
    display."""
    record = logging.LogRecord("sweeper.sweep", logging.INFO, __file__, 0, line, None, None)
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.FileHandler):
            handler.handle(record)


def launch_local(plan: SweepPlan, study: optuna.Study, config_path: Path, refresh_s: float,
                 console: Console | None = None, workers: int | None = None,
                 shape: LaunchShape | None = None) -> list[int]:
    """Starts the workers, shows progress until they all exit, returns their exit codes.

    Args:
        plan: the checked plan.
        study: its study, opened (the progress is read from it).
        config_path: the resolved config each worker loads.
        refresh_s: seconds between progress refreshes; 0 shows no live display.
        console: where progress goes.
        workers: how many to start; ``sweep.workers`` by default.
        shape: ranks per trial and trials per GPU (one of each by default).
    """
    s = plan.settings
    workers = workers or s.workers
    console = console or Console(stderr=True)
    log_dir = config_path.parent
    shape = shape or LaunchShape(1, 1, 1, 0)
    devices = assign_devices(workers, _visible_gpus(), shape.world, shape.trials_per_gpu)
    threads = cores_per_worker(workers * shape.world)  # each rank of a trial a process
    on_terminal = refresh_s > 0 and console.is_terminal
    # Made before the workers start: none of their trials is missed. Without a live display,
    # a line per epoch a trial reports shows that it is training.
    max_epochs = plan.train_cfg.get("max_epochs")
    events = TrialEvents(study, plan.space, epochs=not on_terminal,
                         max_epochs=None if max_epochs is None else int(max_epochs))
    procs: list[subprocess.Popen[bytes]] = []
    for i in range(workers):
        with open(log_dir / f"worker_{i}.log", "ab") as log_file:
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "sweeper.commands.worker_process", str(config_path),
                 str(i)],
                env=_worker_env(i, devices[i], threads), stdout=log_file,
                stderr=subprocess.STDOUT))
    console.print(f"{workers} workers started (pids {', '.join(str(p.pid) for p in procs)}); "
                  f"logs in {log_dir}", soft_wrap=True)

    def _print_events() -> None:
        for line in events.new_lines():
            console.print(line, soft_wrap=True, highlight=False, markup=False)
            _to_log_files(line)

    try:
        if on_terminal:
            with Live(console=console, refresh_per_second=4, transient=False) as live:
                while any(p.poll() is None for p in procs):
                    _print_events()
                    live.update(sweep_progress(study, plan))
                    time.sleep(refresh_s)
                _print_events()
                live.update(sweep_progress(study, plan))
        else:  # a file or a pipe: the trial lines only, no live display to redraw
            while any(p.poll() is None for p in procs):
                _print_events()
                time.sleep(refresh_s if refresh_s > 0 else 1.0)
            _print_events()
    except KeyboardInterrupt:
        console.print("interrupted: stopping workers")
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=STOP_GRACE_S)
            except subprocess.TimeoutExpired:  # a worker that ignores SIGTERM holds nothing
                p.kill()
                p.wait()
        # their trials are failed and queued again now, not after a heartbeat timeout
        requeued = requeue_interrupted(study, open_storage(s.storage), [p.pid for p in procs])
        for line in interrupted_lines(requeued):
            console.print(line, soft_wrap=True, highlight=False, markup=False)
            _to_log_files(line)
    codes = [p.wait() for p in procs]
    for i, code in enumerate(codes):
        if code != 0:
            console.print(f"worker {i} exited with code {code}; see {log_dir}/worker_{i}.log",
                          soft_wrap=True)
    return codes

