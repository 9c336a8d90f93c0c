"""The one Hydra runner of every Hydra subcommand (train, sweep, worker, status, compare).

Hydra parses the command line (its flags and its override grammar), composes the config
from ``conf/`` (plus ``--config-dir``) and owns the run dir. This module only puts Hydra's
flags before the overrides (Hydra's argparse wants them first), names the job after the
subcommand, makes a relative ``--config-path`` relative to the current folder, and turns
every bad input, from a composition error to a task's ``ValueError``, into one ``error:``
line and exit code 2 (:data:`USAGE_ERROR`), never a traceback. A rejected command leaves
nothing behind: Hydra makes the run dir before the task can check its input, so a run dir
(and the folders above it) that this run made is removed again when the task rejects it.
"""

from __future__ import annotations

import importlib
import logging
import os
import shutil
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import hydra
from hydra.errors import HydraException
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from sweeper.commands import SUBCOMMANDS
from sweeper.config import CONF_DIR, explain
from sweeper.study.storage import mask_secrets

__all__ = ["QUIET", "USAGE_ERROR", "VALUE_FLAGS", "Task", "flags_first", "run_app",
           "split_argv"]

USAGE_ERROR = 2
Task = Callable[[DictConfig], int]
# For commands that only read (status, compare): no run dir, no log files, no .hydra/.
QUIET = ("hydra.output_subdir=null", "hydra.run.dir=.", "hydra/job_logging=none",
         "hydra/hydra_logging=none")
# Hydra's flags that take a value, long name -> short name (``--info`` takes one only
# optionally). Hydra builds its parser in a private module (hydra._internal.utils), so the
# table is written here once; tests/commands/test_hydra_flags.py holds it to that parser.
VALUE_FLAGS: dict[str, str | None] = {
    "--cfg": "-c", "--package": "-p", "--config-path": "-cp", "--config-name": "-cn",
    "--config-dir": "-cd", "--info": "-i", "--experimental-rerun": None}
# every spelling of a value flag -> its long name
_LONG = {**{long: long for long in VALUE_FLAGS},
         **{short: long for long, short in VALUE_FLAGS.items() if short}}
# Hydra's --help, with our lines (printed by run_app) instead of "<app> is powered by Hydra".
_HELP_OVERRIDES = ("hydra.help.header=", "hydra.help.footer='Hydra flags: --cfg job (print the "
                   "config), --config-dir DIR (a folder of your own configs), --info, "
                   "--hydra-help. rankme-sweeper --help lists the subcommands.'")


def split_argv(argv: Sequence[str]) -> tuple[list[str], list[str]]:
    """Hydra's flags (with their values) and the overrides, each in the given order."""
    flags: list[str] = []
    overrides: list[str] = []
    args = list(argv)
    while args:
        arg = args.pop(0)
        if arg.startswith("-"):
            flags.append(arg)
            if arg in _LONG and args and not args[0].startswith("-") \
                    and (_LONG[arg] != "--info" or "=" not in args[0]):
                flags.append(args.pop(0))
        else:
            overrides.append(arg)
    return flags, overrides


def flags_first(argv: Sequence[str]) -> list[str]:
    """``argv`` with Hydra's flags (and their values) moved before the overrides."""
    flags, overrides = split_argv(argv)
    return flags + overrides


def _flag_values(args: Sequence[str]) -> dict[str, str]:
    """``--config-path``, ``--config-name``, ``--config-dir`` values (long names as keys)."""
    found: dict[str, str] = {}
    for i, arg in enumerate(args):
        flag, eq, value = arg.partition("=")
        flag = _LONG.get(flag, flag)
        if flag in ("--config-path", "--config-name", "--config-dir"):
            found[flag] = value if eq else (args[i + 1] if i + 1 < len(args) else "")
    return found


def _absolute_config_path(args: list[str]) -> list[str]:
    """Hydra reads a relative ``--config-path`` relative to the Python file that declares
    the app; a user means the current folder."""
    out = list(args)
    for i, arg in enumerate(out):
        flag, eq, value = arg.partition("=")
        if _LONG.get(flag) != "--config-path":
            continue
        if eq and value and not value.startswith("pkg://"):
            out[i] = f"{flag}={Path(value).expanduser().resolve()}"
        elif not eq and i + 1 < len(out) and not out[i + 1].startswith("pkg://"):
            out[i + 1] = str(Path(out[i + 1]).expanduser().resolve())
    return out


def _masked(text: str, overrides: Sequence[str], cfg: DictConfig | None = None) -> str:
    """``text`` without the password of any storage URL given or configured."""
    urls = [o.partition("=")[2] for o in overrides if "://" in o]
    if cfg is not None:
        urls.append(str(OmegaConf.select(cfg, "sweep.storage", default="",
                                         throw_on_resolution_failure=False) or ""))
    for url in urls:
        if url:
            text = mask_secrets(text, url)
    return text


# (run dir, its nearest folder that existed before the run) of the run in progress, noted by
# RunDirWatch before Hydra makes the run dir; run_app clears it and reads it back.
_NEW_RUN_DIRS: list[tuple[Path, Path]] = []
# Hydra instantiates the callbacks its config names: this one notes the run dir.
_WATCH = f"++hydra.callbacks.rankme_run_dir._target_={__name__}.RunDirWatch"


class RunDirWatch(Callback):
    """Notes, before Hydra makes it, the run dir and the nearest folder above it (or itself)
    that exists already: what a rejected run removes again, and where it stops."""

    def on_run_start(self, config: DictConfig, **kwargs: object) -> None:
        run_dir = Path(os.path.abspath(str(OmegaConf.select(config, "hydra.run.dir"))))
        existing = next(p for p in (run_dir, *run_dir.parents) if p.exists())
        _NEW_RUN_DIRS.append((run_dir, existing))


def _remove_rejected_run_dir(run_dir: Path, existing: Path) -> None:
    """Removes ``run_dir`` when this run made it (``existing``, the nearest folder that was
    there before, is not ``run_dir`` itself), then the folders it made above it while empty."""
    if existing == run_dir or not run_dir.is_dir() or existing not in run_dir.parents:
        return  # a folder that was there before (a user's, a resumed run's): keep it
    shutil.rmtree(run_dir, ignore_errors=True)
    for parent in run_dir.parents:
        if parent == existing:
            break
        try:
            parent.rmdir()  # only when empty
        except OSError:
            break


@contextmanager
def _own_logging() -> Iterator[None]:
    """Hydra configures the root logger (console and log file handlers) for its job; put it
    back afterwards, so that a second run in the same process (tests, a notebook) does not
    write to the first one's log file or to a closed stream."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        yield
    finally:
        for handler in root.handlers:
            if handler not in handlers:
                handler.close()
        root.handlers[:] = handlers
        root.setLevel(level)


def _task_of(name: str) -> Task:
    """The subcommand's work: ``run`` of its module, imported only now that Hydra runs it."""
    task: Task = importlib.import_module(f"sweeper.commands.{name}").run
    return task


def run_app(name: str, argv: Sequence[str]) -> int:
    """Runs the Hydra subcommand ``name`` (its row of :data:`~sweeper.commands.SUBCOMMANDS`)
    on the config Hydra composes from ``conf/<config>.yaml`` and ``argv`` (Hydra flags and
    overrides, in any order): ``run(cfg)`` of ``sweeper.commands.<name>``, whose
    ``ValueError`` is a bad input (exit 2).

    Args:
        name: the subcommand (the job's name: ``train.log``, ``--help``'s title; its
            summary and main options head ``--help``).
        argv: the command line after the subcommand.

    Returns:
        The task's exit code; 0 for ``--cfg``, ``--info`` and ``--help``; 2 for a bad
        override, key, group option, flag or input.
    """
    command = SUBCOMMANDS[name]
    config_name, quiet, relaunch = command.config, command.quiet, command.relaunch
    assert config_name is not None, f"{name} is not a Hydra subcommand"
    flags, overrides = split_argv(argv)
    flags = _absolute_config_path(flags)
    extra = [] if any(o.startswith("hydra.job.name=") for o in overrides) else [
        f"hydra.job.name={name}"]
    extra += list(QUIET) if quiet else [_WATCH]
    if any(f in ("-h", "--help") for f in flags):
        extra += [f"hydra.help.app_name=rankme-sweeper {name}", *_HELP_OVERRIDES]
        print(f"rankme-sweeper {name}: {command.summary}")
        print("  (rankme-sweeper: label-free hyperparameter search for JE-SSL, by RankMe)")
        print(f"  main options: {command.options}")
    code = {"value": 0}
    _NEW_RUN_DIRS.clear()

    def _task(cfg: DictConfig) -> None:
        if relaunch:  # Hydra has read its argv; Lightning's DDP launcher starts the other
            # ranks with sys.argv (this interpreter, -m <module> or argv[0], then argv[1:])
            sys.argv = [saved_argv[0], name, *flags, *extra, *overrides]
        task = _task_of(name)
        try:
            code["value"] = task(cfg)
        except OmegaConfBaseException as err:  # e.g. ${oc.env:VAR} of an unset variable
            line = str(err).strip().splitlines()[0]
            print(f"error: {_masked(line, overrides)}", file=sys.stderr)
            code["value"] = USAGE_ERROR
        except ValueError as err:
            print(f"error: {_masked(str(err), overrides, cfg)}", file=sys.stderr)
            code["value"] = USAGE_ERROR

    values = _flag_values(flags)
    saved_argv, saved_env = sys.argv, os.environ.get("HYDRA_FULL_ERROR")
    sys.argv = [f"rankme-sweeper {name}", *flags, *extra, *overrides]
    os.environ["HYDRA_FULL_ERROR"] = "1"  # Hydra raises; the message is ours to write
    try:
        with _own_logging():
            hydra.main(config_path=str(CONF_DIR), config_name=config_name,
                       version_base="1.3")(_task)()
    except SystemExit as exit_:  # --help, or argparse refusing a flag (it printed why)
        return exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    except (HydraException, OmegaConfBaseException) as err:
        primary = Path(values.get("--config-path") or CONF_DIR)
        dirs = [Path(values["--config-dir"])] if values.get("--config-dir") else []
        line = explain(err, values.get("--config-name") or config_name, primary, dirs)
        print(f"error: {_masked(line, overrides)}", file=sys.stderr)
        return USAGE_ERROR
    finally:
        sys.argv = saved_argv
        if saved_env is None:
            os.environ.pop("HYDRA_FULL_ERROR", None)
        else:
            os.environ["HYDRA_FULL_ERROR"] = saved_env
    if code["value"] == USAGE_ERROR:
        for run_dir, existing in _NEW_RUN_DIRS:
            _remove_rejected_run_dir(run_dir, existing)
    return code["value"]
