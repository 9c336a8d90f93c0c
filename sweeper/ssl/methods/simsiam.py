"""SimSiam (Chen & He, CVPR 2021): projector + predictor, stop-gradient, no target network.

``L = D(p_1, sg(z_2)) / 2 + D(p_2, sg(z_1)) / 2`` with ``D = -cos`` (lightly's
``NegativeCosineSimilarity``).
"""

from __future__ import annotations

import torch
from lightly.loss import NegativeCosineSimilarity
from lightly.models.modules import SimSiamPredictionHead, SimSiamProjectionHead
from torch import nn

from sweeper.ssl.methods.base import SSLMethod, view_pairs


class SimSiam(SSLMethod):
    name = "simsiam"

    def __init__(self, backbone: nn.Module, feat_dim: int, proj_hidden_dim: int,
                 proj_output_dim: int, pred_hidden_dim: int, temperature: float = 0.2) -> None:
        super().__init__(backbone, feat_dim)
        self.projector = SimSiamProjectionHead(feat_dim, proj_hidden_dim, proj_output_dim)
        self.predictor = SimSiamPredictionHead(proj_output_dim, pred_hidden_dim,
                                               proj_output_dim)
        self.neg_cos = NegativeCosineSimilarity()

    def loss(self, views: list[torch.Tensor], epoch: int) -> torch.Tensor:
        z = [self.projector(self.backbone(v)) for v in views]
        p = [self.predictor(zi) for zi in z]
        pairs = view_pairs(len(views))
        total = torch.zeros((), device=z[0].device)
        for i, j in pairs:
            total = total + 0.5 * (self.neg_cos(p[i], z[j].detach())
                                   + self.neg_cos(p[j], z[i].detach()))
        return total / len(pairs)
