"""``rankme-sweeper sweep [overrides]``: create or continue a study, run its workers.

Everything a user can get wrong is checked before any trial exists (bad input: exit 2). The
workers get the resolved config in ``<study folder>/workers/<stamp>/config.yaml``; the exit
code is 1 when the study still lacks finished trials afterwards (run the command again).
With ``sweep.storage_proxy.enabled=true`` a storage proxy runs in front of ``sweep.storage``
for as long as the command does, and the workers (and this command) go through it.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import time

from omegaconf import DictConfig, OmegaConf
from rich.console import Console

from sweeper.commands.status import table_console
from sweeper.study.launch_local import launch_local
from sweeper.study.launch_shape import LaunchShape, launch_shape
from sweeper.study.launch_slurm import launch_slurm
from sweeper.study.plan import SweepPlan, make_plan, open_study
from sweeper.study.proxy_server import start_proxy
from sweeper.study.settings import LocalLauncher, SlurmLauncher, read_launcher
from sweeper.study.slots import count_trials
from sweeper.study.status import print_status
from sweeper.study.storage import open_storage
from sweeper.study.train_fn import check_train_fn

__all__ = ["run"]


def run(cfg: DictConfig) -> int:
    """Creates or continues the study and runs its workers; 0 when it holds
    ``sweep.n_trials`` finished trials, 1 when not yet (bad input: exit 2)."""
    plan = make_plan(cfg)
    s = plan.settings
    check_train_fn(s.train_fn)  # workers import it before they ask for a trial
    launcher = read_launcher(cfg.launcher, s)  # with its rules across both blocks
    shape = launch_shape(plan.train_cfg, launcher)  # ranks per trial, trials per GPU
    proxy = s.storage.proxy
    if proxy is None:
        written = OmegaConf.to_container(cfg.sweep, resolve=False)
        assert isinstance(written, dict)
        worker_url, env = s.storage.for_workers(str(written["storage"]))
        os.environ.update(env)  # local workers inherit it, sbatch exports it
        return _run_workers(cfg, plan, launcher, worker_url, shape)
    local = isinstance(launcher, LocalLauncher)
    # Slurm's compute nodes reach this machine by its name, not by the loopback address.
    host = proxy.host or ("127.0.0.1" if local else socket.getfqdn())
    with start_proxy(s.storage.url, host=host, port=proxy.port,
                     heartbeat_s=s.storage.heartbeat_s, max_retries=s.storage.max_retries,
                     max_connections=proxy.max_connections,
                     threads=max(32, 2 * s.workers + 8),  # a waiting lock request holds one
                     log_path=s.dir / "storage_proxy.log") as running:
        Console(stderr=True, soft_wrap=True).print(
            f"storage proxy {running.url} in front of {s.storage.masked} (at most "
            f"{proxy.max_connections} connections; log {running.log_path})")
        proxied = dataclasses.replace(plan, settings=dataclasses.replace(
            s, storage=s.storage.through_proxy(running.url)))
        return _run_workers(cfg, proxied, launcher, running.url, shape)


def _run_workers(cfg: DictConfig, plan: SweepPlan, launcher: LocalLauncher | SlurmLauncher,
         worker_storage: str, shape: LaunchShape) -> int:
    """Creates or continues the plan's study and runs its workers on ``worker_storage``."""
    s = plan.settings
    storage = open_storage(s.storage)
    study = open_study(plan, create=True, storage=storage)
    counts = count_trials(study)
    console = Console(stderr=True, soft_wrap=True)  # a path in a log file stays whole
    console.print(f"study {s.study_name}: {counts.finished}/{s.n_trials} finished; "
                  f"objective {list(s.objectives)} {list(s.directions)}; folder {s.dir}")
    resolved = OmegaConf.to_container(cfg, resolve=True)
    assert isinstance(resolved, dict)
    resolved["sweep"].update(dir=str(s.dir), storage=worker_storage)
    resolved["sweep"]["storage_proxy"]["enabled"] = False  # a worker never starts one
    if counts.finished < s.n_trials:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        run_folder = s.dir / "workers" / f"{stamp}-{os.getpid()}"
        run_folder.mkdir(parents=True, exist_ok=True)
        config_path = run_folder / "config.yaml"
        config_path.touch(mode=0o600)  # it may hold a storage password
        OmegaConf.save(OmegaConf.create(resolved), config_path)
        # More workers than missing trials would only start up and find nothing to do.
        workers = min(s.workers, s.n_trials - counts.finished)
        if isinstance(launcher, LocalLauncher):
            launch_local(plan, study, config_path, float(launcher.refresh_s), console, workers,
                         shape)
        else:
            launch_slurm(plan, study, {str(k): v for k, v in resolved.items()}, launcher,
                         console, workers, shape)
            if not launcher.wait:
                return 0
    print_status(study, s.storage.masked, table_console())
    counts = count_trials(study)
    if counts.finished < s.n_trials:
        console.print(f"the study holds {counts.finished}/{s.n_trials} finished trials; "
                      "run the same command again to continue")
        return 1
    return 0
