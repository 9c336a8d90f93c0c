"""``sweep.train_fn``: the training function a study runs, and the hooks it may declare.

The study knows a training function by its ``module:function`` string alone
(``sweeper.ssl:train`` by default). What it may ask of one beyond training, it reads from
attributes of the loaded function, so that the study never imports the training code itself:

- ``check_trials`` (:class:`TrialCheck`): checks, before the study exists, the training
  config of every kind of trial the search space can draw (:func:`trial_check`).
- ``resume_overrides``: config overrides that make a trial continue an earlier attempt's run
  dir from its checkpoint (:func:`resume_overrides`).

A function without them is run as it is: its trials are not checked ahead, and a retried
trial is handed the same run dir and nothing more.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Protocol

from omegaconf import DictConfig

__all__ = ["MonitorFn", "TrainFn", "TrialCheck", "check_train_fn", "load_train_fn",
           "resume_overrides", "trial_check"]

MonitorFn = Callable[[int, dict[str, float]], str | None]


class TrainFn(Protocol):
    """``train(cfg, run_dir, on_monitor) -> metrics dict`` (see ``sweeper.ssl.train``).

    The contract a training function keeps with the study:

    - ``cfg`` is the training config with the trial's params applied; everything the run
      writes goes under ``run_dir``.
    - After each monitor step it calls ``on_monitor(epoch, metrics)`` (``metrics`` holds the
      objective's name, e.g. ``rankme``). The call returns None to go on, or a status
      (``"pruned"``): the function then stops after that epoch and returns with that status.
    - It returns the metrics.json content: ``status`` ("completed", "pruned" or "diverged";
      the last two are told PRUNED) and a value for every objective (a non-finite value
      may be None). An exception fails the trial, its message kept in the ``error`` attr.
    """

    def __call__(self, cfg: DictConfig, run_dir: Path,
                 on_monitor: MonitorFn | None = None) -> dict[str, Any]: ...


class TrialCheck(Protocol):
    """A training function's ``check_trials`` hook.

    It gets ``(where, cfg)`` pairs: the training config of one point of the search space,
    and where that point is (``""`` for every param at its first value, ``" at KEY=VALUE"``
    for one param moved to one of its values). It raises ``ValueError`` naming the point of
    the first config that no trial could train with.
    """

    def __call__(self, points: Iterable[tuple[str, DictConfig]]) -> None: ...


def _split_spec(spec: str) -> tuple[str, str]:
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise ValueError(f"sweep.train_fn {spec!r} must look like 'package.module:function'")
    return module_name, attr


def load_train_fn(spec: str) -> TrainFn:
    """Imports ``"module:function"`` (``sweep.train_fn``).

    Raises:
        ValueError: when the spec is malformed or does not name a callable.
    """
    module_name, attr = _split_spec(spec)
    try:
        fn = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as err:
        raise ValueError(f"sweep.train_fn {spec!r} cannot be imported: {err}") from None
    if not callable(fn):
        raise ValueError(f"sweep.train_fn {spec!r} is not callable")
    return fn


def check_train_fn(spec: str) -> None:
    """Cheap check of ``sweep.train_fn`` (its module exists) without importing it.

    Raises:
        ValueError: when the spec is malformed or its module cannot be found.
    """
    module_name, _ = _split_spec(spec)
    try:
        found = importlib.util.find_spec(module_name)
    except ImportError:
        found = None
    if found is None:
        raise ValueError(f"sweep.train_fn {spec!r} cannot be imported: no module {module_name!r}")


def trial_check(train_fn: TrainFn) -> TrialCheck | None:
    """The training function's ``check_trials`` hook; None when it declares none."""
    check = getattr(train_fn, "check_trials", None)
    return check if callable(check) else None


def resume_overrides(train_fn: TrainFn) -> Mapping[str, Any]:
    """The training function's ``resume_overrides`` (dotted key -> value); empty when it
    declares none."""
    overrides = getattr(train_fn, "resume_overrides", None)
    return overrides if isinstance(overrides, Mapping) else {}
