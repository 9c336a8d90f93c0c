"""VICReg (Bardes, Ponce & LeCun, ICLR 2022), with solo-learn's weights.

``L = sim * MSE(z_a, z_b) + var * [v(z_a) + v(z_b)] + cov * [c(z_a) + c(z_b)]`` with
``v(z) = mean_j relu(1 - sqrt(Var(z_j) + 1e-4))`` and ``c(z) = sum_{i != j} Cov(z)_ij^2 / d``.
``var_loss_weight`` has solo-learn's meaning: the two branches' variance terms are summed,
so the paper's (and lightly's) mu, which weights their mean, is ``2 * var_loss_weight``.
Projector ``Linear-BN-ReLU-Linear-BN-ReLU-Linear`` (with biases).
"""

from __future__ import annotations

import torch
from lightly.loss import VICRegLoss
from torch import nn

from sweeper.ssl.methods.base import SSLMethod, full_precision, two_views
from sweeper.ssl.methods.checks import non_negative
from sweeper.ssl.methods.heads import mlp


class VICReg(SSLMethod):
    name = "vicreg"

    def __init__(self, backbone: nn.Module, feat_dim: int, proj_hidden_dim: int,
                 proj_output_dim: int, sim_loss_weight: float, var_loss_weight: float,
                 cov_loss_weight: float) -> None:
        for key, w in (("sim_loss_weight", sim_loss_weight),
                       ("var_loss_weight", var_loss_weight),
                       ("cov_loss_weight", cov_loss_weight)):
            non_negative(key, w)
        super().__init__(backbone, feat_dim)
        self.projector = mlp(feat_dim, proj_hidden_dim, proj_output_dim, layers=3)
        self.criterion = VICRegLoss(lambda_param=sim_loss_weight, mu_param=2 * var_loss_weight,
                                    nu_param=cov_loss_weight, gather_distributed=True)

    @full_precision
    def objective(self, z_a: torch.Tensor, z_b: torch.Tensor) -> torch.Tensor:
        return self.criterion(z_a, z_b)

    def loss(self, views: list[torch.Tensor], epoch: int) -> torch.Tensor:
        a, b = (self.projector(self.backbone(v)) for v in two_views(views, self.name))
        return self.objective(a, b)
