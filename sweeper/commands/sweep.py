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
from collections.abc import Sequence
from typing import TYPE_CHECKING
from urllib.parse import quote

from omegaconf import DictConfig, OmegaConf
from rich.console import Console

from sweeper.commands.hydra_app import run_app
from sweeper.commands.status import table_console

if TYPE_CHECKING:  # the study modules import torch: loaded when a sweep runs, not for --help
    from sweeper.study.plan import SweepPlan
    from sweeper.study.settings import LocalLauncher, SlurmLauncher

__all__ = ["OPTIONS", "SUMMARY", "main"]

SUMMARY = "create or continue a study; run its workers until n_trials are done"
OPTIONS = ("space=NAME experiment=NAME sweep.n_trials=N sweep.workers=N "
           "sweep.objective=METRIC sweep.storage=URL sweep.study_name=NAME launcher=local|slurm")


PASSWORD_ENV = "RANKME_SWEEPER_STORAGE_PASSWORD"


def _storage_for_workers(cfg: DictConfig, resolved_url: str) -> str:
    """The storage URL written for workers, holding no password: left as ``${oc.env:...}``
    when it reads its password from the environment; else the password moves into
    :data:`PASSWORD_ENV` of this process, which local workers inherit and sbatch exports,
    and the URL reads it from there. No file the project writes holds it."""
    raw = OmegaConf.to_container(cfg.sweep, resolve=False)
    assert isinstance(raw, dict)
    if "${oc.env:" in str(raw["storage"]):
        return str(raw["storage"])
    from sqlalchemy.engine import make_url

    try:
        url = make_url(resolved_url)
    except Exception:  # not an SQLAlchemy URL: nothing to hide (the storage check names it)
        return resolved_url
    if not url.password:
        return resolved_url
    os.environ[PASSWORD_ENV] = quote(str(url.password), safe="")  # make_url decodes it
    token = "RANKMESWEEPERPASSWORD"
    return url.set(password=token).render_as_string(hide_password=False).replace(
        token, f"${{oc.env:{PASSWORD_ENV}}}")


def _sweep(cfg: DictConfig) -> int:
    from sweeper.study.plan import make_plan
    from sweeper.study.proxy_server import start_proxy
    from sweeper.study.settings import LocalLauncher, SlurmLauncher, read_launcher
    from sweeper.study.storage import mask_url
    from sweeper.study.trial import check_train_fn

    plan = make_plan(cfg)
    s = plan.settings
    check_train_fn(s.train_fn)  # workers import it before they ask for a trial
    launcher = read_launcher(cfg.launcher)
    proxy = s.storage_proxy
    if proxy is None:
        return _run(cfg, plan, launcher, _storage_for_workers(cfg, s.storage))
    local = isinstance(launcher, LocalLauncher)
    if isinstance(launcher, SlurmLauncher) and not launcher.wait:
        raise ValueError("sweep.storage_proxy.enabled=true needs launcher.wait=true: the proxy "
                         "runs as long as the sweep command, and the jobs need it to the end")
    # Slurm's compute nodes reach this machine by its name, not by the loopback address.
    host = proxy.host or ("127.0.0.1" if local else socket.getfqdn())
    with start_proxy(s.storage, host=host, port=proxy.port, heartbeat_s=s.heartbeat_s,
                     max_retries=s.max_retries, max_connections=proxy.max_connections,
                     threads=max(32, 2 * s.workers + 8),  # a waiting lock request holds one
                     log_path=s.dir / "storage_proxy.log") as running:
        Console(stderr=True, soft_wrap=True).print(
            f"storage proxy {running.url} in front of {mask_url(s.storage)} (at most "
            f"{proxy.max_connections} connections; log {running.log_path})")
        proxied = dataclasses.replace(plan, settings=dataclasses.replace(s, storage=running.url))
        return _run(cfg, proxied, launcher, running.url)


def _run(cfg: DictConfig, plan: SweepPlan, launcher: LocalLauncher | SlurmLauncher,
         worker_storage: str) -> int:
    """Creates or continues the plan's study and runs its workers on ``worker_storage``."""
    from sweeper.study.launch_local import launch_local
    from sweeper.study.plan import open_study
    from sweeper.study.settings import LocalLauncher
    from sweeper.study.slots import count_trials
    from sweeper.study.status import print_status
    from sweeper.study.storage import open_storage

    s = plan.settings
    storage = open_storage(s.storage, s.heartbeat_s, s.max_retries)
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
            launch_local(plan, config_path, float(launcher.refresh_s), console, workers)
        else:
            from sweeper.study.launch_slurm import launch_slurm

            launch_slurm(plan, {str(k): v for k, v in resolved.items()}, launcher, console,
                         workers)
            if not launcher.wait:
                return 0
    print_status(study, s.storage, table_console())
    counts = count_trials(study)
    if counts.finished < s.n_trials:
        console.print(f"the study holds {counts.finished}/{s.n_trials} finished trials; "
                      "run the same command again to continue")
        return 1
    return 0


def main(argv: Sequence[str]) -> int:
    """Creates or continues the study and runs its workers; 0 when it holds
    ``sweep.n_trials`` finished trials, 1 when not yet, 2 for bad input."""
    return run_app("sweep", argv, _sweep, config_name="sweep", summary=SUMMARY,
                   options=OPTIONS)
