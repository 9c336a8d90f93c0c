"""W-MSE (Ermolov et al., ICML 2021), with solo-learn's projector and loss.

Each of ``whitening_iters`` rounds shuffles the batch into sub-batches of ``whitening_size``
rows, whitens each view's projections per sub-batch (lightly's Cholesky ``Whitening2d``: the
sub-batch covariance, shrunk by ``whitening_eps`` towards I, ``L L^T``, rows times ``L^-1``),
then averages ``2 - 2 cos(w_a, sg(w_b))`` (solo-learn's stop-gradient on the second view)
over the rounds. Projector ``Linear-BN-ReLU-Linear``.

``whitening_size`` must divide the per-process batch (``optimizer.batch_size``, per process as
solo-learn's): :meth:`WMSE.check_config` refuses it with the run's config checks, before any
work; the step's own check is the last guard.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from lightly.loss.wmse_loss import Whitening2d
from torch import nn

from sweeper.schema import ConfigError
from sweeper.ssl.methods.base import SSLMethod, full_precision, two_views
from sweeper.ssl.methods.checks import non_negative
from sweeper.ssl.methods.heads import mlp

__all__ = ["WMSE", "check_whitening", "wmse_loss"]


def wmse_loss(w_a: torch.Tensor, w_b: torch.Tensor) -> torch.Tensor:
    """``2 - 2 * mean cos(w_a, w_b)``, no gradient through ``w_b``."""
    return 2 - 2 * F.cosine_similarity(w_a, w_b.detach(), dim=-1).mean()


def check_whitening(whitening_size: int, whitening_iters: int, proj_output_dim: int,
                    batch_size: int | None = None) -> None:
    """Refuse sub-batches that cannot be whitened: ``whitening_size`` must exceed
    ``proj_output_dim`` (a full-rank covariance) and divide ``batch_size`` when given.

    Raises:
        ConfigError: naming the keys, their values and the allowed ones.

    >>> check_whitening(128, 1, 64, batch_size=256)
    >>> try:
    ...     check_whitening(100, 1, 64, batch_size=256)
    ... except ConfigError as err:
    ...     print(str(err).split("; ")[-1])
    choose a divisor of 256 above method_kwargs.proj_output_dim=64: 128, 256
    """
    if whitening_size <= proj_output_dim or whitening_iters < 1:
        raise ConfigError(f"wmse needs whitening_size > proj_output_dim (a full-rank "
                          f"covariance) and whitening_iters >= 1, got whitening_size="
                          f"{whitening_size}, proj_output_dim={proj_output_dim}, "
                          f"whitening_iters={whitening_iters}")
    if batch_size is None or batch_size % whitening_size == 0:
        return
    allowed = [d for d in range(proj_output_dim + 1, batch_size + 1) if batch_size % d == 0]
    choose = (f"choose a divisor of {batch_size} above method_kwargs.proj_output_dim="
              f"{proj_output_dim}: {', '.join(map(str, allowed))}" if allowed else
              f"no divisor of {batch_size} exceeds method_kwargs.proj_output_dim="
              f"{proj_output_dim}: raise optimizer.batch_size or lower proj_output_dim")
    raise ConfigError(f"method_kwargs.whitening_size={whitening_size} does not divide "
                      f"optimizer.batch_size={batch_size} (the per-process batch, whitened in "
                      f"sub-batches of whitening_size rows); {choose}")


class WMSE(SSLMethod):
    name = "wmse"

    def __init__(self, backbone: nn.Module, feat_dim: int, proj_hidden_dim: int,
                 proj_output_dim: int, whitening_size: int, whitening_iters: int,
                 whitening_eps: float) -> None:
        non_negative("whitening_eps", whitening_eps)
        super().__init__(backbone, feat_dim)
        check_whitening(whitening_size, whitening_iters, proj_output_dim)
        self.projector = mlp(feat_dim, proj_hidden_dim, proj_output_dim, layers=2)
        self.whitening = Whitening2d(proj_output_dim, eps=whitening_eps,
                                     track_running_stats=False)
        self.whitening_size, self.whitening_iters = whitening_size, whitening_iters

    @staticmethod
    def check_config(method_kwargs: Mapping[str, Any], batch_size: int) -> None:
        """The run's config check (before any work): :func:`check_whitening` against the
        per-process batch. Missing keys are left to :func:`build_method`, which names them."""
        size, iters, dim = (method_kwargs.get(k) for k in
                            ("whitening_size", "whitening_iters", "proj_output_dim"))
        if size is not None and iters is not None and dim is not None:
            check_whitening(int(size), int(iters), int(dim), batch_size=batch_size)

    @full_precision
    def objective(self, z_a: torch.Tensor, z_b: torch.Tensor,
                  perms: list[torch.Tensor] | None = None) -> torch.Tensor:
        """The loss of two views' projections; ``perms`` (one batch permutation per round)
        are drawn with ``torch.randperm`` when None."""
        n = z_a.shape[0]
        if n % self.whitening_size:  # the last guard: the config check refuses it earlier
            raise ValueError(f"wmse whitens sub-batches of whitening_size="
                             f"{self.whitening_size} rows: the batch of {n} is not a multiple "
                             "of it (set optimizer.batch_size to one)")
        if perms is None:
            perms = [torch.randperm(n) for _ in range(self.whitening_iters)]
        total = z_a.new_zeros(())
        for perm in perms:
            w_a, w_b = torch.empty_like(z_a), torch.empty_like(z_b)
            for idx in perm.to(z_a.device).view(-1, self.whitening_size):
                w_a[idx], w_b[idx] = self.whitening(z_a[idx]), self.whitening(z_b[idx])
            total = total + wmse_loss(w_a, w_b)
        return total / len(perms)

    def loss(self, views: list[torch.Tensor], epoch: int) -> torch.Tensor:
        a, b = (self.projector(self.backbone(v)) for v in two_views(views, self.name))
        return self.objective(a, b)
