"""The shared base of every JE-SSL method: a backbone, a projector, a loss over views.

A method is an ``nn.Module`` that owns its backbone and heads and defines ``loss(views,
epoch)``; training code (Lightning module, benchmark, features) treats all methods alike.
Methods with an EMA teacher list their (online, target) module pairs; the training loop
moves the targets with a cosine momentum schedule (BYOL's, from ``momentum.base_tau`` to
``momentum.final_tau``).
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable, Mapping
from itertools import combinations
from typing import Any, ClassVar, TypeVar

import torch
from lightly.models.utils import deactivate_requires_grad
from torch import nn

__all__ = ["MomentumMethod", "SSLMethod", "frozen_copy", "full_precision", "two_views",
           "view_pairs"]

F = TypeVar("F", bound=Callable[..., torch.Tensor])


def _float32(value: Any) -> Any:
    """Half-precision tensors (also in lists and tuples) as float32; anything else as it is
    (float64 stays float64: the reference tests run the losses in it)."""
    if isinstance(value, torch.Tensor):
        return value.float() if value.dtype in (torch.float16, torch.bfloat16) else value
    if isinstance(value, list | tuple):
        return type(value)(_float32(v) for v in value)
    return value


def _device_type(value: Any) -> str | None:
    if isinstance(value, torch.Tensor):
        return value.device.type
    if isinstance(value, list | tuple):
        return next((d for d in map(_device_type, value) if d is not None), None)
    return None


def full_precision(objective: F) -> F:
    """Runs a method's ``objective`` (its loss on the heads' outputs) in float32, autocast off.

    Under a 16-mixed step the heads' outputs are fp16, and a loss's Gram, covariance or
    logit matrices overflow fp16's 65,504: the ResNet-18 VICReg preset on CIFAR-10 read
    ``loss = inf`` at step 49 on an H100 without this. Queues stay float32 as well.
    """
    @functools.wraps(objective)
    def wrapped(self: Any, *args: Any, **kwargs: Any) -> torch.Tensor:
        device = _device_type(args) or "cpu"
        with torch.autocast(device, enabled=False):
            return objective(self, *_float32(args),
                             **{k: _float32(v) for k, v in kwargs.items()})
    return wrapped  # type: ignore[return-value]


def frozen_copy(module: nn.Module) -> nn.Module:
    """A deep copy of ``module`` that takes no gradient (an EMA target)."""
    target = copy.deepcopy(module)
    deactivate_requires_grad(target)
    return target


def view_pairs(n_views: int) -> list[tuple[int, int]]:
    """All unordered pairs of view indices; two views give the one pair (0, 1).

    Raises:
        ValueError: for fewer than two views.
    """
    if n_views < 2:
        raise ValueError(f"a joint-embedding method needs at least 2 views, got {n_views}: "
                         "set augmentations[*].num_crops so that they sum to >= 2")
    return list(combinations(range(n_views), 2))


def two_views(views: list[torch.Tensor], name: str) -> list[torch.Tensor]:
    """The two large crops, for a method solo-learn trains on exactly two views.

    Raises:
        ValueError: unless there are exactly two views.
    """
    if len(views) != 2:
        raise ValueError(f"{name} trains on exactly 2 views (solo-learn's two large crops), got "
                         f"{len(views)}: set augmentations[*].num_crops so that they sum to 2")
    return views


class SSLMethod(nn.Module):
    """Base class: ``backbone`` (images -> B x K features) plus a projector.

    Subclasses set ``name``, build ``self.projector`` and implement :meth:`loss`.
    """

    name: ClassVar[str]
    projector: nn.Module
    #: whether :meth:`loss` takes ``sample_ids`` (each row's dataset index: DeepClusterV2)
    uses_sample_ids: ClassVar[bool] = False

    def __init__(self, backbone: nn.Module, feat_dim: int) -> None:
        super().__init__()
        self.backbone = backbone
        self.feat_dim = feat_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Backbone features of images ``x``."""
        return self.backbone(x)

    def project(self, features: torch.Tensor) -> torch.Tensor:
        """The projector output (the embedding the loss sees) for backbone features."""
        return self.projector(features)

    def embed(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(backbone features, projector output)`` of un-augmented images."""
        f = self.backbone(x)
        return f, self.project(f)

    def loss(self, views: list[torch.Tensor], epoch: int) -> torch.Tensor:
        """The training loss of one batch given as a list of augmented views."""
        raise NotImplementedError

    def momentum_pairs(self) -> list[tuple[nn.Module, nn.Module]]:
        """(online, EMA target) module pairs; empty for methods without a teacher."""
        return []

    def start_epoch(self, epoch: int, dataset_size: int, memory_size: int) -> None:
        """Hook at each training epoch's start (DeepClusterV2's k-means); ``memory_size``
        is this process's rows per epoch (batches x batch size)."""

    def after_backward(self, epoch: int) -> None:
        """Hook between backward and the optimizer step (gradient surgery)."""

    def static_lr_modules(self) -> list[nn.Module]:
        """Modules whose learning rate stays at the base rate, outside the schedule
        (solo-learn's ``static_lr``: SimSiam's and NNSiam's predictors)."""
        return []

    @staticmethod
    def check_config(method_kwargs: Mapping[str, Any], batch_size: int) -> None:
        """The method's own checks of its ``method_kwargs`` against the per-process batch,
        run with the config checks before any work (W-MSE's sub-batches); none by default.

        Raises:
            ConfigError: naming the keys and the allowed values.
        """

    def own_lr_modules(self) -> list[tuple[nn.Module, float]]:
        """Modules with their own peak learning rate, unscaled by batch size, on the same
        warm-up/cosine shape (solo-learn's param groups with an ``lr``: All4One's
        transformer)."""
        return []


class MomentumMethod(SSLMethod):
    """A method with an EMA teacher: ``backbone_momentum`` and ``projector_momentum``.

    Subclasses build both (usually with :func:`frozen_copy`); the training module moves
    them towards the online modules after every step.
    """

    backbone_momentum: nn.Module
    projector_momentum: nn.Module

    def momentum_pairs(self) -> list[tuple[nn.Module, nn.Module]]:
        return [(self.backbone, self.backbone_momentum),
                (self.projector, self.projector_momentum)]

    @torch.no_grad()
    def teacher(self, views: list[torch.Tensor]) -> list[torch.Tensor]:
        """The teacher's projections of ``views`` (no gradient)."""
        return [self.projector_momentum(self.backbone_momentum(v)) for v in views]
