"""Samplers and pruners by name, built from the flat ``sweep.sampler`` / ``sweep.pruner`` keys."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import optuna
from optuna.pruners import BasePruner
from optuna.samplers import BaseSampler

from sweeper.study.space import Param

__all__ = ["PRUNERS", "SAMPLERS", "make_pruner", "make_sampler"]


def _get(options: Mapping[str, Any], group: str, key: str) -> Any:
    """``options[key]``; the defaults live in conf/sweep.yaml, not here."""
    if key not in options:
        raise ValueError(f"sweep.{group}.{key} is missing; conf/sweep.yaml lists every key")
    return options[key]

SAMPLERS = ("tpe", "random", "cmaes", "gp", "qmc", "grid", "nsgaii")
PRUNERS = ("median", "percentile", "successive_halving", "hyperband", "wilcoxon", "none")


def make_sampler(options: Mapping[str, Any], space: Mapping[str, Param],
                 worker_index: int = 0) -> BaseSampler:
    """The sampler named by ``options["name"]``.

    Args:
        options: ``sweep.sampler`` (name, seed, n_startup_trials, population_size).
        space: the parsed search space (the grid sampler enumerates it).
        worker_index: added to the seed, so that seeded workers do not all draw the same
            sequence.

    Raises:
        ValueError: for an unknown name, or a grid over a continuous interval.
    """
    name = options.get("name")
    if name not in SAMPLERS:
        raise ValueError(f"unknown sampler {name!r} (sweep.sampler.name); "
                         f"choose one of: {', '.join(SAMPLERS)}")
    seed = _get(options, "sampler", "seed")
    seed = None if seed is None else int(seed) + worker_index
    startup = int(_get(options, "sampler", "n_startup_trials"))
    if name == "tpe":
        # constant_liar: running trials count as bad guesses, so parallel workers spread out.
        return optuna.samplers.TPESampler(seed=seed, n_startup_trials=startup, constant_liar=True)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "cmaes":
        return optuna.samplers.CmaEsSampler(seed=seed, n_startup_trials=startup)
    if name == "gp":
        return optuna.samplers.GPSampler(seed=seed, n_startup_trials=startup)
    if name == "qmc":
        return optuna.samplers.QMCSampler(seed=seed, scramble=True)
    if name == "nsgaii":
        return optuna.samplers.NSGAIISampler(
            seed=seed, population_size=int(_get(options, "sampler", "population_size")))
    continuous = [p.key for p in space.values() if p.grid is None]
    if continuous:
        raise ValueError(f"the grid sampler needs finite params (choice, range, int(interval)); "
                         f"continuous: {', '.join(continuous)}")
    grid = {p.key: list(p.grid or ()) for p in space.values()}
    return optuna.samplers.GridSampler(grid, seed=seed)


def make_pruner(options: Mapping[str, Any], multi_objective: bool = False) -> BasePruner:
    """The pruner named by ``options["name"]``, reading only the keys it uses.

    Raises:
        ValueError: for an unknown name, or a pruner on a multi-objective study.
    """
    name = options.get("name")
    if name not in PRUNERS:
        raise ValueError(f"unknown pruner {name!r} (sweep.pruner.name); "
                         f"choose one of: {', '.join(PRUNERS)}")
    if name == "none":
        return optuna.pruners.NopPruner()
    if multi_objective:
        raise ValueError(f"pruner {name!r} needs a single objective; Optuna cannot prune "
                         "multi-objective trials: set sweep.pruner.name=none")
    if name in ("median", "percentile"):
        common = {k: int(_get(options, "pruner", k))
                  for k in ("n_startup_trials", "n_warmup_steps", "interval_steps")}
        if name == "median":
            return optuna.pruners.MedianPruner(**common)
        return optuna.pruners.PercentilePruner(float(_get(options, "pruner", "percentile")),
                                               **common)
    if name == "successive_halving":
        return optuna.pruners.SuccessiveHalvingPruner(
            min_resource=_get(options, "pruner", "min_resource"),
            reduction_factor=int(_get(options, "pruner", "reduction_factor")))
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner(
            min_resource=int(_get(options, "pruner", "min_resource")),
            max_resource=_get(options, "pruner", "max_resource"),
            reduction_factor=int(_get(options, "pruner", "reduction_factor")))
    with warnings.catch_warnings():  # experimental in Optuna, and chosen on purpose here
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.pruners.WilcoxonPruner(
            p_threshold=float(_get(options, "pruner", "p_threshold")))
