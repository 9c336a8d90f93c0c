"""BYOL (Grill et al., NeurIPS 2020): online projector + predictor, EMA target network.

Per ordered pair of views, ``2 - 2 cos(q_i, sg(z'_j))`` with ``q = predictor(projector(f))``
and ``z'`` the target's projection; the symmetric sum over both directions, as the paper's
``L + L~`` (lightly's ``NegativeCosineSimilarity`` gives ``-cos``).
"""

from __future__ import annotations

import torch
from lightly.loss import NegativeCosineSimilarity
from lightly.models.modules import BYOLPredictionHead, BYOLProjectionHead
from torch import nn

from sweeper.ssl.methods.base import MomentumMethod, frozen_copy, view_pairs


class BYOL(MomentumMethod):
    name = "byol"

    def __init__(self, backbone: nn.Module, feat_dim: int, proj_hidden_dim: int,
                 proj_output_dim: int, pred_hidden_dim: int) -> None:
        super().__init__(backbone, feat_dim)
        self.projector = BYOLProjectionHead(feat_dim, proj_hidden_dim, proj_output_dim)
        self.predictor = BYOLPredictionHead(proj_output_dim, pred_hidden_dim, proj_output_dim)
        self.backbone_momentum = frozen_copy(backbone)
        self.projector_momentum = frozen_copy(self.projector)
        self.neg_cos = NegativeCosineSimilarity()

    def loss(self, views: list[torch.Tensor], epoch: int) -> torch.Tensor:
        q = [self.predictor(self.projector(self.backbone(v))) for v in views]
        t = self.teacher(views)
        pairs = view_pairs(len(views))
        total = torch.zeros((), device=q[0].device)
        for i, j in pairs:
            total = total + (2 + 2 * self.neg_cos(q[i], t[j])) + (2 + 2 * self.neg_cos(q[j], t[i]))
        return total / len(pairs)
