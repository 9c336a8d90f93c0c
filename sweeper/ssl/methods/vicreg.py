"""VICReg (Bardes, Ponce & LeCun, ICLR 2022).

``L = lambda * MSE(z_a, z_b) + mu * [v(z_a) + v(z_b)] / 2 + nu * [c(z_a) + c(z_b)]`` with
``v(z) = mean_j relu(1 - sqrt(Var(z_j) + 1e-4))`` and ``c(z) = sum_{i != j} Cov(z)_ij^2 / d``,
the official definition (facebookresearch/vicreg, lightly's ``VICRegLoss``). solo-learn sums
the two variance terms without the 1/2, so its variance weight is effectively twice ours: a
solo-learn ``var_loss_weight`` of 25 corresponds to mu = 50 here.
"""

from __future__ import annotations

import torch
from lightly.loss import VICRegLoss
from lightly.models.modules.heads import VICRegProjectionHead
from torch import nn

from sweeper.ssl.methods.base import SSLMethod, view_pairs


class VICReg(SSLMethod):
    name = "vicreg"

    def __init__(self, backbone: nn.Module, feat_dim: int, proj_hidden_dim: int,
                 proj_output_dim: int, sim_loss_weight: float, var_loss_weight: float,
                 cov_loss_weight: float) -> None:
        super().__init__(backbone, feat_dim)
        self.projector = VICRegProjectionHead(feat_dim, proj_hidden_dim, proj_output_dim,
                                              num_layers=3)
        self.criterion = VICRegLoss(lambda_param=sim_loss_weight, mu_param=var_loss_weight,
                                    nu_param=cov_loss_weight, gather_distributed=True)

    def loss(self, views: list[torch.Tensor], epoch: int) -> torch.Tensor:
        z = [self.projector(self.backbone(v)) for v in views]
        pairs = view_pairs(len(z))
        return sum((self.criterion(z[i], z[j]) for i, j in pairs),
                   torch.zeros((), device=z[0].device)) / len(pairs)
