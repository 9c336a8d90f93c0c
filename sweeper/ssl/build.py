"""From a training config to its parts: checked config, data, views, model."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf

from sweeper.config import ConfigError, check_choices, complete_config
from sweeper.ssl.backbones import BACKBONES, build_backbone
from sweeper.ssl.data import DATASETS, TORCHVISION_FORMATS, ImageSet, build_dataset
from sweeper.ssl.loader import EpochBatchSampler, make_loader
from sweeper.ssl.methods import METHODS, SSLMethod, build_method, refusal
from sweeper.ssl.optim import OPTIMIZERS, SCHEDULERS
from sweeper.ssl.views import BatchViews, EvalView, crop_size_of

__all__ = ["Parts", "bank_loader", "build_model", "build_parts", "checked_config"]


def checked_config(cfg: DictConfig) -> DictConfig:
    """Complete a foreign config, then check every name before any work starts.

    Raises:
        ConfigError: naming the bad value and the allowed ones.
    """
    reason = refusal(str(OmegaConf.select(cfg, "method", default="")))
    if reason:  # before composing: a refused method has no conf/method file
        raise ConfigError(reason)
    cfg = complete_config(cfg)
    check_choices(cfg)
    for what, value, allowed in (
        ("method", cfg.method, METHODS), ("backbone", cfg.backbone.name, BACKBONES),
        ("dataset", cfg.data.dataset, DATASETS), ("optimizer", cfg.optimizer.name, OPTIMIZERS),
        ("scheduler", cfg.scheduler.name, SCHEDULERS),
    ):
        if str(value) not in allowed:
            raise ConfigError(f"unknown {what} {value!r}; choose one of: {', '.join(allowed)}")
    fmt, formats = str(cfg.data.format), (*TORCHVISION_FORMATS, "embedded")
    if fmt not in formats:  # solo-learn's dali and h5 readers are not here
        raise ConfigError(f"data.format={fmt!r} is not supported (no DALI or HDF5 reader "
                          f"here); choose one of: {', '.join(formats)}")
    strategy = str(cfg.strategy)
    if any(word in strategy for word in ("spawn", "fork", "notebook")):
        raise ConfigError(f"strategy={strategy!r} trains in child processes whose monitor "
                          "values never come back to this one; use strategy=ddp (Lightning "
                          "starts one process per device, rank 0 writes metrics.json)")
    if int(cfg.max_epochs) < 1:
        raise ConfigError(f"max_epochs must be >= 1, got {cfg.max_epochs}")
    if not cfg.augmentations:
        raise ConfigError("augmentations is empty: give at least one view pipeline")
    # the method's own checks of its method_kwargs against the per-process batch
    METHODS[str(cfg.method)].check_config(
        OmegaConf.to_container(cfg.method_kwargs, resolve=True),  # type: ignore[arg-type]
        int(cfg.optimizer.batch_size))
    return cfg


def build_model(cfg: DictConfig) -> SSLMethod:
    """The method (backbone + heads) a config describes."""
    backbone, dim = build_backbone(str(cfg.backbone.name), int(cfg.data.channels),
                                   crop_size_of(cfg.augmentations),
                                   OmegaConf.to_container(cfg.backbone.kwargs, resolve=True),  # type: ignore[arg-type]
                                   method=str(cfg.method))
    kwargs = OmegaConf.to_container(cfg.method_kwargs, resolve=True)
    return build_method(str(cfg.method), backbone, dim, kwargs)  # type: ignore[arg-type]


@dataclass
class Parts:
    """Everything a training run is made of."""

    cfg: DictConfig
    train_set: ImageSet
    views: BatchViews
    eval_view: EvalView
    method: SSLMethod


def build_parts(cfg: DictConfig) -> Parts:
    """Data, views and model of ``cfg`` (checked first)."""
    cfg = checked_config(cfg)
    crop = crop_size_of(cfg.augmentations)
    views = BatchViews(cfg.augmentations, cfg.data.mean, cfg.data.std)
    eval_view = EvalView(crop, cfg.data.mean, cfg.data.std)
    train_set = build_dataset(cfg.data, "train", pretrain=True)
    return Parts(cfg, train_set, views, eval_view, build_model(cfg))


def bank_loader(train_set: ImageSet, size: int, seed: int, batch_size: int,
                num_workers: int = 0, pin_memory: bool = False) -> Any:
    """The monitor's bank: ``min(size, N)`` train images picked with ``seed`` (sorted),
    in fixed order, un-augmented."""
    n = len(train_set)
    take = min(int(size), n)
    gen = torch.Generator().manual_seed(int(seed))
    idx = np.sort(torch.randperm(n, generator=gen)[:take].numpy())
    subset = train_set.subset(idx)
    sampler = EpochBatchSampler(take, max(1, min(int(batch_size), take)), shuffle=False,
                                drop_last=False)
    return make_loader(subset, sampler, num_workers=num_workers, pin_memory=pin_memory)
