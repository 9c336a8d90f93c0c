"""Trials on several processes (DDP ranks): the worker is rank 0, the other ranks follow it.

A trial whose training config asks for ``devices`` > 1 trains on that many processes. The
worker process is rank 0 and alone owns the Optuna trial (ask, heartbeats, reports, the prune
decision, tell); the follower ranks never touch the storage. Rank 0 hosts a small
``torch.distributed.TCPStore``; for each trial it puts the training config and run dir there
(``msg/<k>``), every rank joins a fresh process group for that trial (keys ``trial<k>/``, with
:data:`TIMEOUT_S` on every collective, so a hung or dead rank cannot hold the others for
longer) and calls the same training function. Lightning finds the group set up and starts no
process of its own; the monitor's values and each epoch's prune decision already go from
rank 0 to every rank inside training (``sweeper.metrics.distributed.from_rank_zero``).

Where the followers come from:

- local (:class:`TrialRanks` with ``local=True``): rank 0 starts ``python -m
  sweeper.commands.trial_rank`` for ranks 1..N-1, with the worker's ``CUDA_VISIBLE_DEVICES``
  block and Lightning's environment variables (``MASTER_ADDR``, ``MASTER_PORT``,
  ``WORLD_SIZE``, ``RANK``, ``LOCAL_RANK``, ``NODE_RANK``); they end with it.
- Slurm: the worker job has N tasks on one node; srun starts them all, task 0 runs the worker
  and the others :func:`follow`.

A rank that dies fails its trial with :class:`RankLost`: the trial is told FAIL and retried
(from its checkpoint). Locally rank 0 then starts fresh followers for its next trial; a Slurm
job cannot restart a task, so its worker ends after the tell.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

import torch
import torch.distributed as dist
from omegaconf import DictConfig, OmegaConf

from sweeper.study.train_fn import MonitorFn, TrainFn

__all__ = ["BACKEND_ENV", "RankLost", "TrialRanks", "follow", "slurm_port", "slurm_task",
           "trial_backend", "trial_world_size"]

log = logging.getLogger(__name__)

# Seconds a collective (or the set-up of a trial's group) may wait for a rank.
TIMEOUT_S = 600
# Seconds rank 0 waits for the followers' word on a failed trial before it calls a rank lost.
ACK_WAIT_S = 30
POLL_S = 0.2
STOP = "stop"
# The process group's backend, for the local followers.
BACKEND_ENV = "RANKME_RANK_BACKEND"


class RankLost(RuntimeError):
    """A rank of a multi-process trial died or stopped answering.

    Attributes:
        worker_goes_on: whether this worker can run more trials (local ranks are restarted;
            a Slurm task cannot be).
    """

    def __init__(self, message: str, worker_goes_on: bool) -> None:
        super().__init__(message)
        self.worker_goes_on = worker_goes_on


def trial_world_size(devices: Any) -> int:
    """The processes a trial trains on: ``devices`` as a count (``2``, ``"2"``) or as device
    ids (``[0, 1]``, ``"0,1"``).

    Raises:
        ValueError: for ``auto``, ``-1`` or anything that is not a count or ids.
    """
    if isinstance(devices, Sequence) and not isinstance(devices, str):
        if len(devices) == 0:
            raise ValueError("devices=[]: name at least one device")
        return len(devices)
    text = str(devices).strip()
    if "," in text:
        return len([d for d in text.split(",") if d.strip()])
    if text.isdigit() and int(text) >= 1:
        return int(text)
    raise ValueError(f"devices={devices!r}: a sweep trial needs a count of devices (devices=2) "
                     "or their ids (devices=[0,1]); 'auto' and -1 depend on the machine")


def trial_backend(accelerator: Any) -> str:
    """The process group's backend: NCCL on CUDA devices, gloo on the CPU."""
    cpu = str(accelerator) == "cpu" or not torch.cuda.is_available()
    return "gloo" if cpu else "nccl"


def slurm_task() -> tuple[int, int]:
    """(task, tasks) of this process in its Slurm job step; (0, 1) outside one."""
    return int(os.environ.get("SLURM_PROCID") or 0), int(os.environ.get("SLURM_NTASKS") or 1)


def slurm_port() -> int:
    """The port of rank 0's store in this Slurm job (the same after a requeue)."""
    return 20000 + int(os.environ.get("SLURM_JOB_ID") or 0) % 20000


def _store(port: int, world: int, master: bool) -> dist.TCPStore:
    return dist.TCPStore("127.0.0.1", port, world, master, timeout=timedelta(seconds=TIMEOUT_S),
                         wait_for_workers=False)


def _join(store: dist.Store, k: int, rank: int, world: int, backend: str) -> None:
    """Joins trial ``k``'s process group, with the environment Lightning reads set again
    (its ``LightningEnvironment.teardown`` removes ``WORLD_SIZE`` after each fit)."""
    os.environ.update(WORLD_SIZE=str(world), RANK=str(rank), LOCAL_RANK=str(rank),
                      NODE_RANK="0")
    dist.init_process_group(backend, store=dist.PrefixStore(f"trial{k}/", store), rank=rank,
                            world_size=world, timeout=timedelta(seconds=TIMEOUT_S))


def _leave(trained: bool) -> None:
    """Ends this trial's process group; after a good run, once every rank is there."""
    if not dist.is_initialized():
        return
    try:
        if trained:
            dist.barrier()
    finally:
        dist.destroy_process_group()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _never(epoch: int, metrics: dict[str, float]) -> str | None:
    """A follower's ``on_monitor``: the monitor calls it on rank 0 only (the prune decision
    comes from there); passing one keeps the followers in rank 0's collectives."""
    return None


class TrialRanks:
    """Rank 0's side of multi-process trials: a context that holds the followers.

    Args:
        world: processes per trial (1: a no-op, the trial trains in this process alone).
        backend: the process group's backend (:func:`trial_backend`).
        train_fn_spec: ``sweep.train_fn``, which the followers load.
        local: start the followers here; False inside a Slurm job whose tasks are them.
    """

    def __init__(self, world: int, backend: str, train_fn_spec: str, local: bool) -> None:
        self.world, self.backend, self.spec, self.local = world, backend, train_fn_spec, local
        self._store: dist.TCPStore | None = None
        self._procs: list[subprocess.Popen[bytes]] = []
        self._next = 0
        self._port = 0

    def __enter__(self) -> TrialRanks:
        if self.world == 1:
            return self
        self._port = _free_port() if self.local else slurm_port()
        os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(self._port),
                          WORLD_SIZE=str(self.world), RANK="0", LOCAL_RANK="0", NODE_RANK="0")
        self._store = _store(self._port, self.world, master=True)
        return self

    def __exit__(self, kind: type[BaseException] | None, err: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._store is not None:
            try:
                self._store.set(f"msg/{self._next}", STOP)
            except Exception as exc:  # the followers also stop when the store goes away
                log.warning("could not tell the trial's ranks to stop: %s", exc)
        self._stop_followers(grace_s=30.0)
        self._store = None

    def _stop_followers(self, grace_s: float) -> None:
        deadline = time.monotonic() + grace_s
        for proc in self._procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._procs = []

    def _start_followers(self) -> None:
        """(Re)starts ranks 1..N-1 here, reading messages from ``msg/<next>``."""
        self._stop_followers(grace_s=0.0)
        for rank in range(1, self.world):
            env = dict(os.environ, RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(self.world),
                       RANKME_FIRST_MESSAGE=str(self._next), PYTHONUNBUFFERED="1",
                       **{BACKEND_ENV: self.backend})
            self._procs.append(subprocess.Popen(
                [sys.executable, "-m", "sweeper.commands.trial_rank", self.spec], env=env))

    def _lost(self, k: int) -> list[int]:
        """Ranks that died or did not report on trial ``k`` within :data:`ACK_WAIT_S`."""
        assert self._store is not None
        deadline = time.monotonic() + ACK_WAIT_S
        waiting = set(range(1, self.world))
        while waiting and time.monotonic() < deadline:
            dead = {r for r in waiting if self._procs and self._procs[r - 1].poll() is not None}
            if dead:
                return sorted(dead)
            waiting = {r for r in waiting if not self._store.check([f"ack/{k}/{r}"])}
            time.sleep(POLL_S if waiting else 0)
        return sorted(waiting)

    def wrap(self, train_fn: TrainFn) -> TrainFn:
        """``train_fn`` run by every rank of the trial; itself when a trial has one rank."""
        if self.world == 1:
            return train_fn

        def train_on_ranks(cfg: DictConfig, run_dir: Path,
                           on_monitor: MonitorFn | None = None) -> dict[str, Any]:
            assert self._store is not None, "use TrialRanks as a context"
            if self.local and (not self._procs or any(p.poll() is not None
                                                      for p in self._procs)):
                self._start_followers()
            k, self._next = self._next, self._next + 1
            self._store.set(f"msg/{k}", json.dumps(
                {"cfg": OmegaConf.to_yaml(cfg, resolve=True), "run_dir": str(run_dir)}))
            try:
                _join(self._store, k, 0, self.world, self.backend)
                result = train_fn(cfg, run_dir, on_monitor or _never)
            except Exception as err:
                _leave(trained=False)
                lost = self._lost(k)
                if lost:  # the collective's own error is in the trial's traceback attr
                    raise RankLost(f"rank {', '.join(map(str, lost))} of the trial's "
                                   f"{self.world} processes stopped while rank 0 was in "
                                   f"{type(err).__name__}", worker_goes_on=self.local) from err
                raise
            _leave(trained=True)
            return result

        # the hooks the study reads off the function (resume_overrides, check_trials)
        return functools.update_wrapper(train_on_ranks, train_fn)


def follow(train_fn: TrainFn, rank: int, world: int, port: int, backend: str,
           first: int = 0) -> int:
    """A follower rank: trains each trial rank 0 hands it until rank 0 says stop or is gone.

    Returns:
        The trials it trained.
    """
    store = _store(port, world, master=False)
    parent, k, done = os.getppid(), first, 0
    while True:
        try:
            while not store.check([f"msg/{k}"]):
                if os.getppid() != parent:  # a local rank 0 died without a word
                    return done
                time.sleep(POLL_S)
            message = store.get(f"msg/{k}")
        except Exception as err:  # rank 0 and its store are gone
            log.info("rank %d: rank 0 is gone (%s); stopping", rank, err)
            return done
        if message == STOP.encode():
            log.info("rank %d: stopping after %d trials", rank, done)
            return done
        trial = json.loads(message)
        cfg = OmegaConf.create(trial["cfg"])
        assert isinstance(cfg, DictConfig)
        OmegaConf.set_struct(cfg, True)
        status = "ok"
        try:
            _join(store, k, rank, world, backend)
            train_fn(cfg, Path(trial["run_dir"]), _never)
            _leave(trained=True)
        except Exception as err:  # rank 0 tells the trial; this rank waits for the next
            status = f"{type(err).__name__}: {err}"
            log.warning("rank %d: trial message %d failed: %s", rank, k, status)
            _leave(trained=False)
        try:
            store.set(f"ack/{k}/{rank}", status)
        except Exception:
            return done
        k, done = k + 1, done + 1
