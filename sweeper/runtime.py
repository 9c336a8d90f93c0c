"""Process set-up: CPU threads and the worker index, the same way in every process.

Policy: a process runs ``num_threads`` torch threads when the config sets it, else the CPUs
it was given (``OMP_NUM_THREADS``, else Slurm's ``SLURM_CPUS_PER_TASK``), else torch's
default; local workers split the machine's cores evenly; a small oracle problem runs on one
thread.

Why one thread for small problems: on a small matrix, torch's intra-op threads cost more in
hand-offs than they save, and on a shared machine they turn a 50 ms L-BFGS fit into seconds
(measured: a 560 x 64 probe fit, 1 thread 0.05 s vs 2 busy threads 0.6-2.7 s).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import lightning.pytorch  # noqa: F401  (adds its log handler on import: see _lightning_logs_once)
import torch

__all__ = [
    "SMALL_PROBLEM_VALUES",
    "WORKER_INDEX_ENV",
    "cores_per_worker",
    "cpu_budget",
    "set_torch_threads",
    "setup_process",
    "thread_env",
    "threads_for",
    "worker_index",
]

SMALL_PROBLEM_VALUES = 1 << 20
# The index of a local worker process (its sampler seed offset); Slurm array jobs use
# SLURM_ARRAY_TASK_ID instead.
WORKER_INDEX_ENV = "RANKME_WORKER_INDEX"
_THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")


def _positive_int(text: str | None) -> int | None:
    try:
        value = int(text or "")
    except ValueError:
        return None
    return value if value > 0 else None


def cpu_budget(env: Mapping[str, str] | None = None) -> int | None:
    """The CPUs this process was given: ``OMP_NUM_THREADS``, else ``SLURM_CPUS_PER_TASK``;
    None when neither is set (torch's default then applies)."""
    env = os.environ if env is None else env
    return _positive_int(env.get("OMP_NUM_THREADS")) or _positive_int(
        env.get("SLURM_CPUS_PER_TASK"))


def thread_env(threads: int) -> dict[str, str]:
    """Environment variables that give a child process ``threads`` CPU threads (torch, MKL
    and OpenMP read them when they load)."""
    return {name: str(threads) for name in _THREAD_VARS}


def cores_per_worker(workers: int) -> int:
    """This machine's cores split evenly over ``workers`` local worker processes (>= 1)."""
    return max(1, (os.cpu_count() or 1) // max(1, workers))


def setup_process() -> None:
    """Set-up of a worker process: on Slurm, one thread per allocated CPU unless
    ``OMP_NUM_THREADS`` says otherwise, for the libraries that read it when they load and
    for the process's children (torch's own count: :func:`set_torch_threads`)."""
    budget = cpu_budget()
    if budget is not None and "OMP_NUM_THREADS" not in os.environ:
        os.environ.update(thread_env(budget))
    _lightning_logs_once()


def _lightning_logs_once() -> None:
    """Lightning's log lines reach a worker's log once, through the root logger's handlers
    (Lightning adds its own handler too, which doubled every line, when this module imports
    it), without its ads."""
    for name in ("lightning", "lightning.pytorch", "lightning.fabric", "torchmetrics"):
        logger = logging.getLogger(name)
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
        logger.propagate = True
    for name in ("lightning.pytorch", "lightning.fabric"):
        ranked = logging.getLogger(f"{name}.utilities.rank_zero")  # where the ad is logged
        if _no_ads not in ranked.filters:
            ranked.addFilter(_no_ads)


def _no_ads(record: logging.LogRecord) -> bool:
    return "litlogger" not in record.getMessage()


def set_torch_threads(requested: int | None = None) -> None:
    """torch's intra-op threads for this process: ``requested`` (the config's
    ``num_threads``) when given, else :func:`cpu_budget` when set (also when torch was
    imported before the budget was known); torch's default otherwise."""
    threads = _positive_int(str(requested)) if requested else cpu_budget()
    if threads is not None:
        torch.set_num_threads(threads)


def worker_index(env: Mapping[str, str] | None = None) -> int:
    """This worker's index: the Slurm array task id, else :data:`WORKER_INDEX_ENV`, else 0."""
    env = os.environ if env is None else env
    return int(env.get("SLURM_ARRAY_TASK_ID") or env.get(WORKER_INDEX_ENV) or 0)


@contextmanager
def threads_for(n_values: int, device: torch.device) -> Iterator[None]:
    """Run the block on one CPU thread when the problem is small (and on CPU)."""
    if device.type != "cpu" or n_values >= SMALL_PROBLEM_VALUES:
        yield
        return
    saved = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(saved)
