"""Barlow Twins (Zbontar et al., ICML 2021).

``C = z_a^T z_b / N`` of batch-standardized projections; ``L = scale_loss * [sum_i (1 - C_ii)^2
+ lamb * sum_{i != j} C_ij^2]`` (lightly's ``BarlowTwinsLoss``; ``scale_loss`` as in
solo-learn's CIFAR setting).
"""

from __future__ import annotations

import torch
from lightly.loss import BarlowTwinsLoss
from lightly.models.modules import BarlowTwinsProjectionHead
from torch import nn

from sweeper.ssl.methods.base import SSLMethod, view_pairs


class BarlowTwins(SSLMethod):
    name = "barlow_twins"

    def __init__(self, backbone: nn.Module, feat_dim: int, proj_hidden_dim: int,
                 proj_output_dim: int, lamb: float, scale_loss: float) -> None:
        super().__init__(backbone, feat_dim)
        self.projector = BarlowTwinsProjectionHead(feat_dim, proj_hidden_dim, proj_output_dim)
        self.criterion = BarlowTwinsLoss(lambda_param=lamb, gather_distributed=True)
        self.scale_loss = scale_loss

    def loss(self, views: list[torch.Tensor], epoch: int) -> torch.Tensor:
        z = [self.projector(self.backbone(v)) for v in views]
        pairs = view_pairs(len(z))
        total = sum((self.criterion(z[i], z[j]) for i, j in pairs),
                    torch.zeros((), device=z[0].device))
        return self.scale_loss * total / len(pairs)
