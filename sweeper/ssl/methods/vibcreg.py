"""VIbCReg (Lee & Aune, 2021), with solo-learn's weights and projector.

``L = sim * MSE(z_a, z_b) + var * [v(z_a) + v(z_b)] + cov * [c(z_a) + c(z_b)]`` with VICReg's
``v(z) = mean_j relu(1 - sqrt(Var(z_j) + 1e-4))`` and the normalised covariance term
``c(z) = mean_{ij} (C_ij)^2`` over the off-diagonal of ``C = Zn^T Zn`` (``Zn``: ``z`` centred,
each column scaled to unit L2 norm; the diagonal counts as 0 in the mean). The variance and
covariance terms see the batch gathered over processes, the invariance term the local one.
Projector ``Linear-BN-GELU-Linear-BN-GELU-Linear``, then :class:`IterNorm` (64 groups,
5 iterations) when ``iternorm`` is set.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from lightly.loss.vicreg_loss import variance_loss
from lightly.utils import dist
from torch import nn

from sweeper.ssl.methods.base import SSLMethod, full_precision, two_views
from sweeper.ssl.methods.checks import non_negative
from sweeper.ssl.methods.heads import mlp
from sweeper.ssl.methods.iternorm import IterNorm

__all__ = ["VIbCReg", "vibcreg_loss"]


def _covariance(z: torch.Tensor) -> torch.Tensor:
    zn = F.normalize(z - z.mean(0), dim=0)
    c = zn.T @ zn
    return (c - torch.diag_embed(c.diagonal())).pow(2).mean()


def vibcreg_loss(z_a: torch.Tensor, z_b: torch.Tensor, sim_loss_weight: float,
                 var_loss_weight: float, cov_loss_weight: float) -> torch.Tensor:
    """VIbCReg's loss of two ``B x D`` projections (see the module docstring)."""
    sim = F.mse_loss(z_a, z_b)
    if dist.world_size() > 1:
        z_a, z_b = torch.cat(dist.gather(z_a)), torch.cat(dist.gather(z_b))
    var = variance_loss(z_a, eps=1e-4) + variance_loss(z_b, eps=1e-4)
    cov = _covariance(z_a) + _covariance(z_b)
    return sim_loss_weight * sim + var_loss_weight * var + cov_loss_weight * cov


class VIbCReg(SSLMethod):
    name = "vibcreg"

    def __init__(self, backbone: nn.Module, feat_dim: int, proj_hidden_dim: int,
                 proj_output_dim: int, sim_loss_weight: float, var_loss_weight: float,
                 cov_loss_weight: float, iternorm: bool) -> None:
        for key, w in (("sim_loss_weight", sim_loss_weight),
                       ("var_loss_weight", var_loss_weight),
                       ("cov_loss_weight", cov_loss_weight)):
            non_negative(key, w)
        super().__init__(backbone, feat_dim)
        self.projector = mlp(feat_dim, proj_hidden_dim, proj_output_dim, layers=3,
                             activation=nn.GELU)
        self.projector.append(IterNorm(proj_output_dim) if iternorm else nn.Identity())
        self.weights = (sim_loss_weight, var_loss_weight, cov_loss_weight)

    @full_precision
    def objective(self, z_a: torch.Tensor, z_b: torch.Tensor) -> torch.Tensor:
        return vibcreg_loss(z_a, z_b, *self.weights)

    def loss(self, views: list[torch.Tensor], epoch: int) -> torch.Tensor:
        a, b = (self.projector(self.backbone(v)) for v in two_views(views, self.name))
        return self.objective(a, b)
