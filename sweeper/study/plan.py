"""A sweep plan: the composed config checked end to end, and the study it opens.

Everything a user can get wrong is checked in :func:`make_plan` and :func:`open_study`
before any trial exists: the ``sweep`` block, every search-space expression and key (each
key is applied to a copy of the training config in struct mode), the training config at the
ends of the space (by the training function's own ``check_trials`` hook), the enqueued
params, the sampler and pruner names, the storage, and the directions of an existing study.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.study import StudyDirection

from sweeper.study.algorithms import make_pruner, make_sampler
from sweeper.study.seeds import enqueue_point
from sweeper.study.settings import SweepSettings, read_settings, split_config
from sweeper.study.space import Param, parse_space
from sweeper.study.storage import StudyStorage
from sweeper.study.train_fn import load_train_fn, trial_check

__all__ = ["SweepPlan", "apply_params", "check_trial_configs", "make_plan", "open_study",
           "trial_points"]


@dataclass(frozen=True)
class SweepPlan:
    """What a sweep needs: its settings, the training config and the parsed space."""

    settings: SweepSettings
    train_cfg: DictConfig
    space: dict[str, Param]


def apply_params(train_cfg: DictConfig, params: dict[str, Any]) -> DictConfig:
    """A copy of ``train_cfg`` with ``params`` (dotted keys) applied, struct mode kept.

    Raises:
        ValueError: for a key the training config does not have.
    """
    cfg = train_cfg.copy()
    OmegaConf.set_struct(cfg, True)
    for key, value in params.items():
        try:
            OmegaConf.update(cfg, key, value, merge=True)
        except OmegaConfBaseException as err:
            raise ValueError(f"search space key {key!r} is not a training config key "
                             f"({str(err).splitlines()[0]}); add it to the training config "
                             f"or fix its spelling") from None
    return cfg


def _example(dist: BaseDistribution) -> Any:
    if isinstance(dist, CategoricalDistribution):
        return dist.choices[0]
    assert isinstance(dist, FloatDistribution | IntDistribution)
    return dist.low


# An integer range with at most this many values is checked at each of them: a trial can
# draw any, and some constraints hold at the ends only (W-MSE's whitening_size must divide
# optimizer.batch_size: 128 and 256 do, 192 does not).
ALL_VALUES_UP_TO = 16


def _corners(dist: BaseDistribution) -> list[Any]:
    """Every choice of a categorical and every value of a short integer range; the two ends
    of any other range."""
    if isinstance(dist, CategoricalDistribution):
        return list(dist.choices)
    if isinstance(dist, IntDistribution) and not dist.log and (
            (dist.high - dist.low) // dist.step < ALL_VALUES_UP_TO):
        return list(range(dist.low, dist.high + 1, dist.step))
    assert isinstance(dist, FloatDistribution | IntDistribution)
    return [dist.low, dist.high]


def trial_points(train_cfg: DictConfig,
                 space: dict[str, Param]) -> Iterator[tuple[str, DictConfig]]:
    """The training configs a check of the space tries, with where each is: every param at
    its first value (``""``), then each param moved to each of its :func:`_corners` (``" at
    KEY=VALUE"``), the others left at their first value."""
    base = {k: _example(p.distribution) for k, p in space.items()}
    yield "", apply_params(train_cfg, base)
    for key, p in space.items():
        for value in _corners(p.distribution):
            yield f" at {key}={value!r}", apply_params(train_cfg, {**base, key: value})


def check_trial_configs(train_fn_spec: str, train_cfg: DictConfig,
                        space: dict[str, Param]) -> None:
    """What every trial needs, checked before the study exists by the training function's
    ``check_trials`` hook (:class:`~sweeper.study.train_fn.TrialCheck`) on the
    :func:`trial_points` of the space; nothing when the function declares no hook.

    Raises:
        ValueError: for a training function that cannot be imported, or naming the param
            value and what is wrong with it.
    """
    check = trial_check(load_train_fn(train_fn_spec))
    if check is not None:
        check(trial_points(train_cfg, space))


def _contains(dist: BaseDistribution, value: Any) -> bool:
    if isinstance(dist, CategoricalDistribution):
        return any(type(value) is type(c) and value == c for c in dist.choices)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    assert isinstance(dist, FloatDistribution | IntDistribution)
    if isinstance(dist, IntDistribution) and not float(value).is_integer():
        return False
    return dist.low <= value <= dist.high


def make_plan(cfg: DictConfig, base: Path | None = None, *,
              check_trials: bool = True) -> SweepPlan:
    """Checks a composed sweep config (``conf/sweep.yaml`` + overrides).

    Args:
        cfg: the composed config with ``sweep``, ``space`` and the training keys.
        base: folder for relative paths; the current directory by default.
        check_trials: also run :func:`check_trial_configs` (the training function's own
            check of the space's ends, e.g. data and model); False checks the config alone
            (a preset whose data is elsewhere).

    Raises:
        ValueError: for any bad setting, expression, key, enqueued param, sampler or pruner.
    """
    train_cfg, part = split_config(cfg)
    if "sweep" not in part or "space" not in part or "params" not in part.space:
        raise ValueError("the config has no sweep/space blocks; compose conf/sweep.yaml")
    settings = read_settings(part.sweep, base)
    params = OmegaConf.to_container(part.space.params, resolve=True)
    assert isinstance(params, dict)
    space = parse_space({str(k): v for k, v in params.items()})
    apply_params(train_cfg, {k: _example(p.distribution) for k, p in space.items()})
    if check_trials:
        check_trial_configs(settings.train_fn, train_cfg, space)
    for i, entry in enumerate(settings.enqueue):
        for key, value in entry.items():
            if key not in space:
                raise ValueError(f"sweep.enqueue[{i}]: {key!r} is not a search-space key; "
                                 f"space keys: {', '.join(space)}")
            if not _contains(space[key].distribution, value):
                raise ValueError(f"sweep.enqueue[{i}]: {key}={value!r} is outside "
                                 f"{space[key].expression}")
    if settings.seeds > 1:
        if "seed" in space:
            raise ValueError("sweep.seeds > 1 trains each point with seeds of its own; drop "
                             "seed from the search space, or set sweep.seeds=1")
        if not isinstance(OmegaConf.select(train_cfg, "seed"), int):
            raise ValueError(f"sweep.seeds={settings.seeds} needs an integer training key "
                             "`seed` (the first seed; conf/train.yaml has seed: 0)")
    make_sampler(settings.sampler, space)
    make_pruner(settings.pruner, settings.multi_objective)
    if settings.sampler["name"] == "grid":  # each point runs once per seed (study/seeds.py)
        points = math.prod(len(p.grid or ()) for p in space.values())
        if settings.n_trials > points * settings.seeds:
            per = f" x sweep.seeds={settings.seeds}" if settings.seeds > 1 else ""
            raise ValueError(f"the grid has {points} points{per}, fewer than sweep.n_trials="
                             f"{settings.n_trials}; set sweep.n_trials={points * settings.seeds}")
    for name in settings.objectives:  # a metric the monitor measures only when switched on
        if OmegaConf.select(train_cfg, f"monitor.{name}.enabled") is False:
            raise ValueError(f"sweep.objective {name!r} is measured only with "
                             f"monitor.{name}.enabled=true")
    return SweepPlan(settings, train_cfg, space)


def open_study(plan: SweepPlan, *, create: bool, worker_index: int = 0,
               storage: StudyStorage) -> optuna.Study:
    """Creates or loads the plan's study, with this worker's sampler and pruner.

    Args:
        plan: a checked plan.
        create: create the study when missing and enqueue ``sweep.enqueue`` (the ``sweep``
            command); a worker (``create=False``) requires the study to exist.
        worker_index: offsets the sampler seed.
        storage: the opened storage (:func:`~sweeper.study.storage.open_storage`).

    Raises:
        ValueError: unreachable storage, a missing study for a worker, or an existing study
            whose directions differ from the configured ones.
    """
    s = plan.settings
    wanted = [StudyDirection.MAXIMIZE if d == "maximize" else StudyDirection.MINIMIZE
              for d in s.directions]
    names = set(optuna.get_all_study_names(storage))
    if s.study_name in names:
        existing = optuna.load_study(study_name=s.study_name, storage=storage)
        if list(existing.directions) != wanted:
            have = [d.name.lower() for d in existing.directions]
            raise ValueError(
                f"study {s.study_name!r} in {s.storage} has directions {have}, "
                f"the config asks for {list(s.directions)} (objective {list(s.objectives)}); "
                "use another sweep.study_name or the study's directions")
    elif not create:
        raise ValueError(f"no study {s.study_name!r} in {s.storage}; "
                         "create it with `rankme-sweeper sweep` first")
    sampler = make_sampler(s.sampler, plan.space, worker_index)
    pruner = make_pruner(s.pruner, s.multi_objective)
    if s.study_name in names:
        study = optuna.load_study(study_name=s.study_name, storage=storage, sampler=sampler,
                                  pruner=pruner)
    else:  # load_if_exists: another process may create it at the same moment
        study = optuna.create_study(storage=storage, study_name=s.study_name, directions=wanted,
                                    load_if_exists=True, sampler=sampler, pruner=pruner)
    if create:
        study.set_user_attr("objectives", list(s.objectives))
        first_seed = int(plan.train_cfg.seed) if s.seeds > 1 else 0  # checked by make_plan
        for entry in s.enqueue:  # once per seed with sweep.seeds > 1
            enqueue_point(study, entry, first_seed, s.seeds)
    return study
