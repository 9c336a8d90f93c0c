"""SimCLR (Chen et al., ICML 2020): NT-Xent over the 2N projected views.

``l(i, j) = -log exp(sim(z_i, z_j) / T) / sum_{k != i} exp(sim(z_i, z_k) / T)`` with cosine
similarity, averaged over all 2N anchors (lightly's ``NTXentLoss``; gathered across GPUs).
"""

from __future__ import annotations

import torch
from lightly.loss import NTXentLoss
from lightly.models.modules import SimCLRProjectionHead
from torch import nn

from sweeper.ssl.methods.base import SSLMethod, view_pairs


class SimCLR(SSLMethod):
    name = "simclr"

    def __init__(self, backbone: nn.Module, feat_dim: int, proj_hidden_dim: int,
                 proj_output_dim: int, temperature: float) -> None:
        super().__init__(backbone, feat_dim)
        self.projector = SimCLRProjectionHead(feat_dim, proj_hidden_dim, proj_output_dim)
        self.criterion = NTXentLoss(temperature=temperature, gather_distributed=True)

    def loss(self, views: list[torch.Tensor], epoch: int) -> torch.Tensor:
        z = [self.projector(self.backbone(v)) for v in views]
        pairs = view_pairs(len(z))
        return sum((self.criterion(z[i], z[j]) for i, j in pairs),
                   torch.zeros((), device=z[0].device)) / len(pairs)
