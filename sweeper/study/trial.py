"""One trial: sample its params, train in-process, report RankMe per monitor step, tell.

The training function follows ``sweeper.ssl.train``'s contract::

    train(cfg, run_dir, on_monitor) -> dict   # metrics.json content, "status" included

``on_monitor(epoch, metrics)`` reports the objective to Optuna; when the pruner says so it
raises ``StopTraining("pruned")``, training stops, keeps its checkpoint and metrics.json and
returns with status "pruned".
"""

from __future__ import annotations

import importlib
import importlib.util
import math
import os
import socket
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import optuna
from omegaconf import DictConfig
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState

from sweeper.study.plan import SweepPlan, apply_params

__all__ = ["TrainFn", "check_train_fn", "load_train_fn", "run_trial", "stop_training_class"]

MonitorFn = Callable[[int, dict[str, float]], None]


class TrainFn(Protocol):
    """``train(cfg, run_dir, on_monitor) -> metrics dict`` (see ``sweeper.ssl.train``)."""

    def __call__(self, cfg: DictConfig, run_dir: Path,
                 on_monitor: MonitorFn | None = None) -> dict[str, Any]: ...


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


def stop_training_class(train_fn: TrainFn) -> type[BaseException]:
    """The exception that stops ``train_fn`` early: ``StopTraining`` of its module or of
    ``sweeper.ssl`` when either is loaded, else Optuna's ``TrialPruned`` (a training function
    without its own signal lets it through, and the trial is still told PRUNED)."""
    for name in (getattr(train_fn, "__module__", None), "sweeper.ssl"):
        stop = getattr(sys.modules.get(name or ""), "StopTraining", None)
        if isinstance(stop, type) and issubclass(stop, BaseException):
            return stop
    return optuna.TrialPruned


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


def _suggest(trial: optuna.Trial, plan: SweepPlan) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for key, param in plan.space.items():
        dist = param.distribution
        if isinstance(dist, FloatDistribution):
            params[key] = trial.suggest_float(key, dist.low, dist.high, step=dist.step,
                                              log=dist.log)
        elif isinstance(dist, IntDistribution):
            params[key] = trial.suggest_int(key, dist.low, dist.high, step=dist.step,
                                            log=dist.log)
        else:
            assert isinstance(dist, CategoricalDistribution)
            params[key] = trial.suggest_categorical(key, dist.choices)
    return params


def _values(result: dict[str, Any], objectives: tuple[str, ...]) -> list[float]:
    missing = [name for name in objectives if name not in result]
    if missing:
        raise KeyError(f"the training result has no {missing}; it has {sorted(result)}")
    # metrics.json writes a non-finite value as null
    return [math.nan if result[name] is None else float(result[name]) for name in objectives]


def run_trial(study: optuna.Study, trial: optuna.Trial, plan: SweepPlan,
              train_fn: TrainFn) -> TrialState:
    """Runs one asked trial to its end and tells the study.

    A training error fails the trial with the error stored in the ``error`` user attr; the
    error is not re-raised (the worker goes on with its next trial).

    Returns:
        The state the trial was told.
    """
    s = plan.settings
    run_dir = s.dir / f"trial_{trial.number}"
    trial.set_user_attr("run_dir", str(run_dir))
    trial.set_user_attr("worker", f"{socket.gethostname()}:{os.getpid()}")
    if os.environ.get("SLURM_JOB_ID"):
        trial.set_user_attr("slurm_job_id", os.environ["SLURM_JOB_ID"])
    stop = stop_training_class(train_fn)
    prunable = not s.multi_objective and s.pruner.get("name") != "none"
    objective = s.objectives[0]

    def on_monitor(epoch: int, metrics: dict[str, float]) -> None:
        value = metrics.get(objective)
        if value is None or not math.isfinite(float(value)) or s.multi_objective:
            return
        trial.report(float(value), step=int(epoch))
        if prunable and trial.should_prune():
            raise stop("pruned")

    try:
        cfg = apply_params(plan.train_cfg, _suggest(trial, plan))
        result = train_fn(cfg, run_dir, on_monitor)
        status = str(result.get("status", "completed"))
        trial.set_user_attr("train_status", status)
        # A diverged run (non-finite loss) is a legitimate, bad outcome of its params, not an
        # error: told PRUNED like a stopped run, it counts as finished and the sampler ranks
        # it below every completed trial.
        if status in ("pruned", "diverged"):
            study.tell(trial, state=TrialState.PRUNED)
            return TrialState.PRUNED
        values = _values(result, s.objectives)
    except stop:  # a training function that lets the stop signal through
        trial.set_user_attr("train_status", "pruned")
        study.tell(trial, state=TrialState.PRUNED)
        return TrialState.PRUNED
    except Exception as err:  # the trial fails; the worker lives on
        trial.set_user_attr("error", f"{type(err).__name__}: {err}")
        trial.set_user_attr("traceback", traceback.format_exc(limit=8)[-4000:])
        study.tell(trial, state=TrialState.FAIL)
        return TrialState.FAIL
    if not all(math.isfinite(v) for v in values):
        trial.set_user_attr("error", f"non-finite objective {values} (status {status})")
        study.tell(trial, state=TrialState.FAIL)
        return TrialState.FAIL
    study.tell(trial, values if s.multi_objective else values[0])
    return TrialState.COMPLETE
