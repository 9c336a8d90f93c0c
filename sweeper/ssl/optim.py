"""Optimizers (solo-learn's names and kwargs) and per-step learning-rate schedules."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from lightly.models.utils import get_weight_decay_parameters
from omegaconf import DictConfig, OmegaConf
from torch import nn

__all__ = ["OPTIMIZERS", "SCHEDULERS", "build_optimizer", "lr_lambda"]

OPTIMIZERS = ("lars", "sgd", "adamw")
SCHEDULERS = ("warmup_cosine", "cosine", "none")


def _param_groups(model: nn.Module, weight_decay: float, exclude_bias_n_norm: bool
                  ) -> list[dict[str, Any]]:
    if not exclude_bias_n_norm:
        params = [p for p in model.parameters() if p.requires_grad]
        return [{"params": params, "weight_decay": weight_decay}]
    # lightly's split: norm layers' parameters and biases apart (for every shipped method and
    # backbone the same parameters as solo-learn's ndim <= 1 rule); frozen ones in neither
    decay, flat = get_weight_decay_parameters([model])
    return [{"params": [p for p in decay if p.requires_grad], "weight_decay": weight_decay},
            {"params": [p for p in flat if p.requires_grad], "weight_decay": 0.0}]


def build_optimizer(model: nn.Module, optimizer: DictConfig) -> torch.optim.Optimizer:
    """The optimizer named by ``optimizer.name`` over ``model``'s trainable parameters.

    ``lars``: lightly's LARS (SGD with layer-wise trust ratio); ``eta`` is its trust
    coefficient, ``exclude_bias_n_norm`` puts biases and norm parameters in a group without
    weight decay, which LARS then leaves unscaled; ``clip_lr`` is accepted and has no effect.
    ``sgd``: torch SGD. ``adamw``: torch AdamW.

    Raises:
        ValueError: for an unknown optimizer name, listing the known ones.
    """
    kw: dict[str, Any] = dict(OmegaConf.to_container(optimizer.kwargs, resolve=True))  # type: ignore[arg-type]
    lr, wd = float(optimizer.lr), float(optimizer.weight_decay)
    name = str(optimizer.name)
    if name == "lars":
        from lightly.utils.lars import LARS

        groups = _param_groups(model, wd, bool(kw.pop("exclude_bias_n_norm", False)))
        kw.pop("clip_lr", None)
        if "eta" in kw:  # conf/optimizer/lars.yaml sets it; else lightly's own default
            kw["trust_coefficient"] = float(kw.pop("eta"))
        return LARS(groups, lr=lr, **kw)
    if name == "sgd":
        groups = _param_groups(model, wd, bool(kw.pop("exclude_bias_n_norm", False)))
        return torch.optim.SGD(groups, lr=lr, **kw)
    if name == "adamw":
        groups = _param_groups(model, wd, bool(kw.pop("exclude_bias_n_norm", False)))
        if "betas" in kw:
            kw["betas"] = tuple(kw["betas"])
        return torch.optim.AdamW(groups, lr=lr, **kw)
    raise ValueError(f"unknown optimizer {name!r}; choose one of: {', '.join(OPTIMIZERS)}")


def lr_lambda(scheduler: DictConfig, base_lr: float, steps_per_epoch: int,
              max_epochs: int) -> Callable[[int], float]:
    """Per-step multiplier of the base learning rate.

    ``warmup_cosine``: linear from ``warmup_start_lr`` to ``lr`` over ``warmup_epochs``, then
    cosine to ``min_lr`` at the last step (solo-learn's schedule, per step). ``cosine``: the
    cosine part only. ``none``: constant.

    Not lightly's ``cosine_warmup_schedule``: it starts warmup one step in (never at
    ``warmup_start_lr``) and reaches ``min_lr`` a step early, which is not solo-learn's schedule.

    Raises:
        ValueError: for an unknown scheduler name, listing the known ones.
    """
    name = str(scheduler.name)
    if name not in SCHEDULERS:
        raise ValueError(f"unknown scheduler {name!r}; choose one of: {', '.join(SCHEDULERS)}")
    total = max(1, steps_per_epoch * max_epochs)
    warm = steps_per_epoch * int(scheduler.warmup_epochs) if name == "warmup_cosine" else 0
    warm = min(warm, total - 1)
    start = float(scheduler.warmup_start_lr) / base_lr if base_lr > 0 else 0.0
    floor = float(scheduler.min_lr) / base_lr if base_lr > 0 else 0.0

    def factor(step: int) -> float:
        if name == "none":
            return 1.0
        if step < warm:
            return start + (1.0 - start) * step / warm
        progress = min(1.0, (step - warm) / max(1, total - warm))
        return floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))

    return factor
