"""From a training config to its parts: checked config, data, views, model."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf

from sweeper.config import ConfigError, complete_config
from sweeper.ssl.backbones import build_backbone
from sweeper.ssl.data.datasets import build_dataset
from sweeper.ssl.data.images import ImageSet
from sweeper.ssl.data.loader import EpochBatchSampler, make_loader
from sweeper.ssl.data.on_device import check_held, check_on_device
from sweeper.ssl.data.views import BatchViews, EvalView, crop_size_of
from sweeper.ssl.methods import SSLMethod, build_method, refusal
from sweeper.ssl.train_settings import read_training

__all__ = ["Parts", "bank_loader", "build_model", "build_parts", "checked_config"]


def checked_config(cfg: DictConfig) -> DictConfig:
    """Complete a foreign config, then check it before any work starts: the names its
    groups and the registries know and the values a run refuses
    (:class:`~sweeper.ssl.train_settings.TrainSettings`), and that it has a view pipeline.

    Raises:
        ConfigError: naming the bad value and the allowed ones.
    """
    reason = refusal(str(OmegaConf.select(cfg, "method", default="")))
    if reason:  # before composing: a refused method has no conf/method file
        raise ConfigError(reason)
    cfg = complete_config(cfg)
    read_training(cfg)
    crop_size_of(cfg.augmentations)  # the views' own check: at least one pipeline
    check_on_device(cfg.data)
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
    """Data, views and model of ``cfg``, a config composed from ``conf/`` or returned by
    :func:`checked_config` (a foreign one is completed and checked there, once)."""
    crop = crop_size_of(cfg.augmentations)
    if cfg.data.get("no_labels") and str(cfg.data.dataset) != "custom":
        warnings.warn(f"data.no_labels=true is not read for dataset {cfg.data.dataset!r}: "
                      "solo-learn reads it only for custom image folders (a folder of images "
                      "without class folders), and pretraining reads no labels", stacklevel=2)
    views = BatchViews(cfg.augmentations, cfg.data.mean, cfg.data.std, str(cfg.data.dataset))
    eval_view = EvalView(crop, cfg.data.mean, cfg.data.std)
    train_set = build_dataset(cfg.data, "train", pretrain=True)
    check_held(cfg.data, train_set)  # data.on_device=true needs images in memory
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
