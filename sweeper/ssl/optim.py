"""Optimizers (solo-learn's names and kwargs) and per-step learning-rate schedules."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch
from lightly.models.utils import get_weight_decay_parameters
from lightly.utils.lars import LARS
from omegaconf import DictConfig, OmegaConf
from torch import nn

__all__ = ["OPTIMIZERS", "SCHEDULERS", "SoloLARS", "build_optimizer", "group_lambdas",
           "lr_lambda", "scaled_lr"]

OPTIMIZERS = ("lars", "sgd", "adam", "adamw")
SCHEDULERS = ("warmup_cosine", "cosine", "none")


class SoloLARS(LARS):
    """lightly's LARS with solo-learn's ``clip_lr`` and ``exclude_bias_n_norm``.

    Per parameter with a gradient: unless it is 1-D and ``exclude_bias_n_norm`` is set, the
    update is ``(g + wd * p) * rate`` with ``rate = eta * |p| / (|g| + wd * |p| + eps)``
    (``min(rate / lr, 1)`` under ``clip_lr``); excluded parameters get ``g`` unscaled and
    undecayed. Then SGD momentum as torch's SGD.

    Example:
        >>> layer = nn.Linear(2, 2)
        >>> opt = SoloLARS(layer.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4,
        ...                trust_coefficient=0.02, clip_lr=True, exclude_bias_n_norm=True)
        >>> layer(torch.ones(1, 2)).sum().backward()
        >>> opt.step()
    """

    def __init__(self, params: Any, lr: float, *, clip_lr: bool = False,
                 exclude_bias_n_norm: bool = False, **kwargs: Any) -> None:
        super().__init__(params, lr=lr, **kwargs)
        for group in self.param_groups:
            group.setdefault("clip_lr", clip_lr)
            group.setdefault("exclude_bias_n_norm", exclude_bias_n_norm)

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if params:
                self._step_group(group, params)
        return loss

    def _step_group(self, group: dict[str, Any], params: list[torch.Tensor]) -> None:
        lr, wd, mom = group["lr"], group["weight_decay"], group["momentum"]
        for p in params:
            d_p = p.grad
            assert d_p is not None
            if p.ndim != 1 or not group["exclude_bias_n_norm"]:
                p_norm, g_norm = torch.norm(p), torch.norm(d_p)
                if p_norm != 0 and g_norm != 0:
                    rate = group["trust_coefficient"] * p_norm / (
                        g_norm + p_norm * wd + group["eps"])
                    if group["clip_lr"]:
                        rate = torch.clamp(rate / lr, max=1.0)
                    d_p = d_p.add(p, alpha=wd) * rate
            if mom != 0:
                state = self.state[p]
                if "momentum_buffer" not in state:
                    buf = state["momentum_buffer"] = torch.clone(d_p).detach()
                else:
                    buf = state["momentum_buffer"]
                    buf.mul_(mom).add_(d_p, alpha=1 - group["dampening"])
                d_p = d_p.add(buf, alpha=mom) if group["nesterov"] else buf
            p.add_(d_p, alpha=-lr)


def _param_groups(model: nn.Module, weight_decay: float, exclude_bias_n_norm: bool,
                  static: set[int], own: dict[int, float]) -> list[dict[str, Any]]:
    """Trainable parameters in groups. Those whose id is in ``static`` go in groups marked
    ``static_lr`` (the schedule leaves them at the base rate); those in ``own`` in groups
    with that peak rate as ``lr`` and ``own_lr``."""
    if not exclude_bias_n_norm:
        split = [([p for p in model.parameters()], weight_decay)]
    else:
        # lightly's split: norm layers' parameters and biases apart (for every shipped method
        # and backbone the same parameters as solo-learn's ndim <= 1 rule, once IterNorm's
        # (1, D) bias, which lightly's name rule keeps apart, goes back to the decayed ones)
        decay, flat = get_weight_decay_parameters([model])
        split = [([*decay, *(q for q in flat if q.ndim > 1)], weight_decay),
                 ([q for q in flat if q.ndim <= 1], 0.0)]
    kinds: list[tuple[bool, float | None]] = [(False, None), (True, None)]
    kinds += [(False, lr) for lr in sorted(set(own.values()))]
    groups = []
    for is_static, own_lr in kinds:
        for params, wd in split:
            # frozen parameters in no group
            kept = [p for p in params if p.requires_grad and (id(p) in static) == is_static
                    and own.get(id(p)) == own_lr]
            if kept or (not is_static and own_lr is None):
                group: dict[str, Any] = {"params": kept, "weight_decay": wd,
                                         "static_lr": is_static}
                if own_lr is not None:
                    group.update(lr=own_lr, own_lr=own_lr)
                groups.append(group)
    return groups


def scaled_lr(lr: float, batch_size: int, world_size: int) -> float:
    """solo-learn's learning-rate scaling: ``lr * batch_size * world_size / 256``."""
    return lr * batch_size * world_size / 256


def build_optimizer(model: nn.Module, optimizer: DictConfig, lr: float | None = None,
                    static_lr_modules: Sequence[nn.Module] = (),
                    own_lr_modules: Sequence[tuple[nn.Module, float]] = (),
                    lars: type[SoloLARS] | None = None) -> torch.optim.Optimizer:
    """The optimizer named by ``optimizer.name`` over ``model``'s trainable parameters.

    ``lars``: :class:`SoloLARS`, solo-learn's LARS (``eta`` is the trust coefficient,
    ``clip_lr`` and ``exclude_bias_n_norm`` as solo-learn applies them).
    ``sgd``: torch SGD. ``adam``: torch Adam (solo-learn's: L2 ``weight_decay`` in the
    gradient). ``adamw``: torch AdamW.

    Args:
        model: whose trainable parameters are optimized.
        optimizer: the ``optimizer`` block (``name``, ``lr``, ``weight_decay``, ``kwargs``).
        lr: the base learning rate (e.g. :func:`scaled_lr`); ``optimizer.lr`` when None.
        static_lr_modules: their parameters go in groups marked ``static_lr`` (solo-learn's
            fixed-lr predictor), which :func:`group_lambdas` keeps at the base rate.
        own_lr_modules: ``(module, peak lr)``: their parameters go in groups with that
            ``lr`` (and ``own_lr``), unscaled (solo-learn's All4One transformer at 0.1).
        lars: the LARS class for ``lars`` (:class:`SoloLARS` when None; the training
            module passes :class:`~sweeper.ssl.lars_foreach.ForeachLARS` on CUDA). torch's
            SGD, Adam and AdamW take their multi-tensor step on CUDA by themselves.

    Raises:
        ValueError: for an unknown optimizer name, listing the known ones.
    """
    kw: dict[str, Any] = dict(OmegaConf.to_container(optimizer.kwargs, resolve=True))  # type: ignore[arg-type]
    lr = float(optimizer.lr) if lr is None else float(lr)
    wd = float(optimizer.weight_decay)
    name = str(optimizer.name)
    static = {id(p) for m in static_lr_modules for p in m.parameters()}
    own = {id(p): float(peak) for m, peak in own_lr_modules for p in m.parameters()}
    if name == "lars":
        # solo-learn's rule (1-D parameters excluded) lives in the step, not in groups
        groups = _param_groups(model, wd, False, static, own)
        if "eta" in kw:  # conf/optimizer/lars.yaml sets it; else lightly's own default
            kw["trust_coefficient"] = float(kw.pop("eta"))
        return (lars or SoloLARS)(groups, lr=lr, **kw)
    if name == "sgd":
        groups = _param_groups(model, wd, bool(kw.pop("exclude_bias_n_norm", False)), static,
                               own)
        return torch.optim.SGD(groups, lr=lr, **kw)
    if name in ("adam", "adamw"):
        groups = _param_groups(model, wd, bool(kw.pop("exclude_bias_n_norm", False)), static,
                               own)
        if "betas" in kw:
            kw["betas"] = tuple(kw["betas"])
        adam = torch.optim.Adam if name == "adam" else torch.optim.AdamW
        return adam(groups, lr=lr, **kw)
    raise ValueError(f"unknown optimizer {name!r}; choose one of: {', '.join(OPTIMIZERS)}")


def group_lambdas(opt: torch.optim.Optimizer, base_lr: float,
                  schedule: Callable[[float], Callable[[int], float]]
                  ) -> list[Callable[[int], float]]:
    """One LambdaLR multiplier per group: ``schedule(peak)`` for the group's peak rate
    (``own_lr``, else ``base_lr``), or 1 for groups marked ``static_lr``."""
    return [(lambda _step: 1.0) if g.get("static_lr") else schedule(g.get("own_lr", base_lr))
            for g in opt.param_groups]


def lr_lambda(scheduler: DictConfig, base_lr: float, steps_per_epoch: int,
              max_epochs: int) -> Callable[[int], float]:
    """Per-step multiplier of the base learning rate.

    ``warmup_cosine``: solo-learn's ``LinearWarmupCosineAnnealingLR`` per step. With
    ``W = steps_per_epoch * warmup_epochs`` and ``T = steps_per_epoch * max_epochs``: linear
    from ``warmup_start_lr`` at step 0 to ``lr`` at step ``W - 1`` (steps of
    ``(lr - start) / (W - 1)``), ``lr`` again at step ``W``, then cosine
    ``min_lr + (lr - min_lr) (1 + cos(pi (s - W) / (T - W))) / 2`` (its value at ``T``, one
    step past the last, is ``min_lr``). A warm-up as long as the run or longer is cut short
    by the end of training, as in solo-learn. ``cosine``: the cosine part only (``W = 0``).
    ``none``: constant.

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
    start = float(scheduler.warmup_start_lr) / base_lr if base_lr > 0 else 0.0
    floor = float(scheduler.min_lr) / base_lr if base_lr > 0 else 0.0

    def factor(step: int) -> float:
        if name == "none":
            return 1.0
        if step < warm:
            return start + (1.0 - start) * step / max(1, warm - 1)
        progress = min(1.0, (step - warm) / max(1, total - warm))
        return floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))

    return factor
