"""Barlow Twins (Zbontar et al., ICML 2021), as solo-learn computes it.

``C = BN(z_a)^T BN(z_b) / N`` with a parameter-free BatchNorm in training mode (biased
variance, eps 1e-5), averaged over GPUs; ``L = scale_loss * [sum_i (1 - C_ii)^2
+ lamb * sum_{i != j} C_ij^2]``. Projector ``Linear-BN-ReLU-Linear-BN-ReLU-Linear``.
"""

from __future__ import annotations

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

from sweeper.ssl.methods.base import SSLMethod, full_precision, two_views
from sweeper.ssl.methods.checks import non_negative
from sweeper.ssl.methods.heads import mlp


def barlow_loss(z_a: torch.Tensor, z_b: torch.Tensor, lamb: float, scale_loss: float
                ) -> torch.Tensor:
    n, d = z_a.shape
    a = F.batch_norm(z_a, None, None, training=True, eps=1e-5)
    b = F.batch_norm(z_b, None, None, training=True, eps=1e-5)
    corr = a.T @ b / n
    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        dist.all_reduce(corr)
        corr = corr / dist.get_world_size()
    eye = torch.eye(d, device=corr.device, dtype=torch.bool)
    diff = (corr - eye.to(corr.dtype)).pow(2)
    return scale_loss * (diff[eye].sum() + lamb * diff[~eye].sum())


class BarlowTwins(SSLMethod):
    name = "barlow_twins"

    def __init__(self, backbone: nn.Module, feat_dim: int, proj_hidden_dim: int,
                 proj_output_dim: int, lamb: float, scale_loss: float) -> None:
        non_negative("lamb", lamb)
        non_negative("scale_loss", scale_loss)
        super().__init__(backbone, feat_dim)
        self.projector = mlp(feat_dim, proj_hidden_dim, proj_output_dim, layers=3)
        self.lamb, self.scale_loss = lamb, scale_loss

    @full_precision
    def objective(self, z_a: torch.Tensor, z_b: torch.Tensor) -> torch.Tensor:
        return barlow_loss(z_a, z_b, self.lamb, self.scale_loss)

    def loss(self, views: list[torch.Tensor], epoch: int) -> torch.Tensor:
        a, b = (self.projector(self.backbone(v)) for v in two_views(views, self.name))
        return self.objective(a, b)
