"""The keys of a training config that decide whether a run can start, typed, with their rules.

The defaults live in ``conf/train.yaml`` and its groups; unknown keys are refused when the
config is composed or completed (:mod:`sweeper.config`, struct mode). This schema types the
names the registries must know and the values a run refuses; :func:`read_training` reads a
config the way every other block is read (:func:`~sweeper.schema.read_block`), then applies
the rules on its values, one block after the other, and those across blocks. Other blocks
are typed where they are read (``monitor``: :mod:`sweeper.ssl.monitor_settings`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from omegaconf import MISSING, DictConfig

from sweeper.schema import ConfigError, read_block, schema_part, unknown_choice
from sweeper.ssl.backbones import BACKBONES
from sweeper.ssl.data.datasets import DATASETS, TORCHVISION_FORMATS
from sweeper.ssl.methods import METHODS
from sweeper.ssl.optim import OPTIMIZERS, SCHEDULERS

__all__ = ["BackboneSettings", "DataSettings", "MomentumSettings", "OptimizerSettings",
           "SchedulerSettings", "TrainSettings", "read_training"]

FORMATS = (*TORCHVISION_FORMATS, "embedded")


@dataclass
class BackboneSettings:
    """``backbone``: a registered backbone and its builder's keyword arguments."""

    name: str = MISSING
    kwargs: dict[str, Any] = MISSING


@dataclass
class DataSettings:
    """``data``: the dataset and the format its files are read in."""

    dataset: str = MISSING
    format: str = MISSING


@dataclass
class OptimizerSettings:
    """``optimizer``: the optimizer and the per-process batch."""

    name: str = MISSING
    batch_size: int = MISSING


@dataclass
class MomentumSettings:
    """``momentum``: the EMA teacher's cosine schedule from ``base_tau`` to ``final_tau``."""

    base_tau: float = MISSING
    final_tau: float = MISSING


@dataclass
class SchedulerSettings:
    """``scheduler``: the learning-rate schedule."""

    name: str = MISSING


@dataclass
class TrainSettings:
    """A training config's method, parts and run length: what is refused before any work."""

    method: str = MISSING
    method_kwargs: dict[str, Any] = MISSING
    backbone: BackboneSettings = field(default_factory=BackboneSettings)
    data: DataSettings = field(default_factory=DataSettings)
    optimizer: OptimizerSettings = field(default_factory=OptimizerSettings)
    scheduler: SchedulerSettings = field(default_factory=SchedulerSettings)
    momentum: MomentumSettings = field(default_factory=MomentumSettings)
    strategy: str = MISSING
    max_epochs: int = MISSING


def _choice(what: str, value: str, allowed: Sequence[str]) -> None:
    if value not in allowed:
        raise ConfigError(unknown_choice(what, value, list(allowed)))


def read_training(cfg: DictConfig) -> TrainSettings:
    """The keys of a (completed) training config that :class:`TrainSettings` types, checked.

    Raises:
        ConfigError: naming the key, its value and what is allowed.
    """
    s = read_block(TrainSettings, schema_part(TrainSettings, cfg), "", "conf/train.yaml")
    for what, value, allowed in (
        ("method", s.method, list(METHODS)), ("backbone", s.backbone.name, list(BACKBONES)),
        ("dataset", s.data.dataset, DATASETS), ("optimizer", s.optimizer.name, OPTIMIZERS),
        ("scheduler", s.scheduler.name, SCHEDULERS),
    ):
        _choice(what, value, allowed)  # a conf/ file may name what no registry holds
    if s.data.format not in FORMATS:  # solo-learn's dali and h5 readers are not here
        raise ConfigError(f"data.format={s.data.format!r} is not supported (no DALI or HDF5 "
                          f"reader here); choose one of: {', '.join(FORMATS)}")
    if any(word in s.strategy for word in ("spawn", "fork", "notebook")):
        raise ConfigError(f"strategy={s.strategy!r} trains in child processes whose monitor "
                          "values never come back to this one; use strategy=ddp (Lightning "
                          "starts one process per device, rank 0 writes metrics.json)")
    if s.max_epochs < 1:
        raise ConfigError(f"max_epochs must be >= 1, got {s.max_epochs}")
    for key in ("base_tau", "final_tau"):  # an EMA weight: 0 copies, 1 freezes the teacher
        tau = getattr(s.momentum, key)
        if not 0.0 <= tau <= 1.0:
            raise ConfigError(f"momentum.{key}={tau}: must be in [0, 1]")
    # across blocks: the method's own checks of its method_kwargs against the per-process
    # batch (W-MSE's sub-batches)
    METHODS[s.method].check_config(s.method_kwargs, s.optimizer.batch_size)
    return s
