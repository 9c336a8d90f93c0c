"""The ``sweep``, ``worker`` and ``status`` subcommands as Hydra apps on ``conf/sweep.yaml``.

Hydra's flags and override grammar work as for any Hydra app (``--config-dir`` for a user's
own ``space/*.yaml``, ``--cfg job``, ``hydra.run.dir=...``). A bad input prints one
``error:`` line and exits with code 2 before any trial is created.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import hydra
from omegaconf import DictConfig, OmegaConf
from rich.console import Console

import sweeper
from sweeper.study.storage import mask_secrets

__all__ = ["status_main", "sweep_main", "worker_main"]

CONF_DIR = Path(sweeper.__file__).resolve().parent.parent / "conf"
log = logging.getLogger("sweeper.study")


# Hydra flags that take a value; argparse wants every flag before the first override.
_VALUE_FLAGS = {"--config-dir", "-cd", "--config-path", "-cp", "--config-name", "-cn", "--cfg",
                "-c", "--package", "-p", "--info", "-i", "--shell-completion", "-sc",
                "--experimental-rerun"}


def flags_first(argv: Sequence[str]) -> list[str]:
    """``argv`` with Hydra's flags (and their values) moved before the overrides."""
    flags: list[str] = []
    overrides: list[str] = []
    args = list(argv)
    while args:
        arg = args.pop(0)
        if arg.startswith("-"):
            flags.append(arg)
            if arg in _VALUE_FLAGS and args and not args[0].startswith("-") \
                    and (arg not in ("--info", "-i") or "=" not in args[0]):
                flags.append(args.pop(0))
        else:
            overrides.append(arg)
    return flags + overrides


def _run_hydra(name: str, argv: Sequence[str], task: Callable[[DictConfig], int],
               extra: Sequence[str] = ()) -> int:
    code = {"value": 0}

    @hydra.main(config_path=str(CONF_DIR), config_name="sweep", version_base="1.3")
    def _main(cfg: DictConfig) -> None:
        storage = str(OmegaConf.select(cfg, "sweep.storage", default="") or "")
        try:
            code["value"] = task(cfg)
        except ValueError as err:
            print(f"error: {mask_secrets(str(err), storage)}", file=sys.stderr)
            code["value"] = 2

    saved = sys.argv
    sys.argv = [f"rankme-sweeper-{name}", *flags_first([*extra, *argv])]
    try:
        _main()
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else 1
    finally:
        sys.argv = saved
    return code["value"]


def _table_console() -> Console:
    """A terminal's width, or a wide one when the table goes to a file or a pipe."""
    console = Console()
    return console if console.is_terminal else Console(width=200)


def _storage_for_workers(cfg: DictConfig, resolved_url: str) -> str:
    """The storage URL written for workers: left as ``${oc.env:...}`` when it reads its
    password from the environment, so that no file holds the password itself."""
    raw = OmegaConf.to_container(cfg.sweep, resolve=False)
    assert isinstance(raw, dict)
    return str(raw["storage"]) if "${oc.env:" in str(raw["storage"]) else resolved_url


def _sweep(cfg: DictConfig) -> int:
    from sweeper.study.launch_local import launch_local
    from sweeper.study.plan import make_plan, open_study
    from sweeper.study.slots import count_trials
    from sweeper.study.status import print_status
    from sweeper.study.storage import open_storage
    from sweeper.study.trial import check_train_fn

    plan = make_plan(cfg)
    s = plan.settings
    check_train_fn(s.train_fn)  # workers import it before they ask for a trial
    launcher_name = OmegaConf.select(cfg, "launcher.name")
    if launcher_name not in ("local", "slurm"):
        raise ValueError(f"unknown launcher {launcher_name!r}; choose local or slurm")
    storage = open_storage(s.storage, s.heartbeat_s, s.max_retries)
    study = open_study(plan, create=True, storage=storage)
    counts = count_trials(storage, study._study_id)
    console = Console(stderr=True)
    console.print(f"study {s.study_name}: {counts.finished}/{s.n_trials} finished; "
                  f"objective {list(s.objectives)} {list(s.directions)}; folder {s.dir}")
    resolved = OmegaConf.to_container(cfg, resolve=True)
    assert isinstance(resolved, dict)
    resolved["sweep"].update(dir=str(s.dir), storage=_storage_for_workers(cfg, s.storage))
    launcher = resolved["launcher"]
    if counts.finished < s.n_trials:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        run_folder = s.dir / "workers" / f"{stamp}-{os.getpid()}"
        run_folder.mkdir(parents=True, exist_ok=True)
        config_path = run_folder / "config.yaml"
        config_path.touch(mode=0o600)  # it may hold a storage password
        OmegaConf.save(OmegaConf.create(resolved), config_path)
        # More workers than missing trials would only start up and find nothing to do.
        workers = min(s.workers, s.n_trials - counts.finished)
        if launcher["name"] == "local":
            launch_local(plan, config_path, float(launcher["refresh_s"]), console, workers)
        else:
            from sweeper.study.launch_slurm import launch_slurm

            launch_slurm(plan, {str(k): v for k, v in resolved.items()}, launcher, console,
                         workers)
            if not launcher["wait"]:
                return 0
    print_status(study, s.storage, _table_console())
    counts = count_trials(storage, study._study_id)
    if counts.finished < s.n_trials:
        console.print(f"the study holds {counts.finished}/{s.n_trials} finished trials; "
                      "run the same command again to continue")
        return 1
    return 0


def _worker(cfg: DictConfig) -> int:
    from sweeper.study.plan import make_plan
    from sweeper.study.trial import load_train_fn
    from sweeper.study.worker import run_worker

    plan = make_plan(cfg)
    index = int(os.environ.get("SLURM_ARRAY_TASK_ID") or os.environ.get("RANKME_WORKER_INDEX")
                or 0)
    report = run_worker(plan, load_train_fn(plan.settings.train_fn), index)
    log.info("worker done: %s", report.states)
    return 1 if report.stopped_by_errors else 0


def _status(cfg: DictConfig) -> int:
    from sweeper.study.plan import make_plan, open_study
    from sweeper.study.status import print_status

    plan = make_plan(cfg)
    study = open_study(plan, create=False)
    print_status(study, plan.settings.storage, _table_console())
    return 0


def sweep_main(argv: Sequence[str]) -> int:
    """``rankme-sweeper sweep [overrides]``: create or continue a study, run its workers."""
    return _run_hydra("sweep", argv, _sweep)


def worker_main(argv: Sequence[str]) -> int:
    """``rankme-sweeper worker [overrides]``: one worker on an existing study."""
    return _run_hydra("worker", argv, _worker)


def status_main(argv: Sequence[str]) -> int:
    """``rankme-sweeper status [overrides]``: the study's trials and its best trial."""
    quiet = ["hydra.output_subdir=null", "hydra.run.dir=.", "hydra/job_logging=none",
             "hydra/hydra_logging=none"]
    return _run_hydra("status", argv, _status, extra=quiet)
