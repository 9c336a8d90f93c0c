"""BYOL (Grill et al., NeurIPS 2020), as solo-learn trains it.

Online ``predictor(projector(f))`` against the EMA target's projection of the other large
crop: ``L = sum_{t < 2} sum_{v != t} (2 - 2 cos(q_v, sg(z'_t)))`` over the two large crops
``t`` and every view ``v`` (small crops only predict). Projector and predictor
``Linear-BN-ReLU-Linear`` (with biases).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from sweeper.ssl.methods.base import MomentumMethod, frozen_copy, full_precision, view_pairs
from sweeper.ssl.methods.heads import mlp


def byol_loss(q: list[torch.Tensor], targets: list[torch.Tensor]) -> torch.Tensor:
    """``sum_t sum_{v != t} 2 - 2 cos(q_v, sg(targets_t))``."""
    total = torch.zeros((), device=q[0].device)
    for t, target in enumerate(targets):
        for v, pred in enumerate(q):
            if v != t:
                total = total + 2 - 2 * F.cosine_similarity(pred, target.detach(), dim=-1).mean()
    return total


class BYOL(MomentumMethod):
    name = "byol"

    def __init__(self, backbone: nn.Module, feat_dim: int, proj_hidden_dim: int,
                 proj_output_dim: int, pred_hidden_dim: int) -> None:
        super().__init__(backbone, feat_dim)
        self.projector = mlp(feat_dim, proj_hidden_dim, proj_output_dim)
        self.predictor = mlp(proj_output_dim, pred_hidden_dim, proj_output_dim)
        self.backbone_momentum = frozen_copy(backbone)
        self.projector_momentum = frozen_copy(self.projector)

    @full_precision
    def objective(self, q: list[torch.Tensor], targets: list[torch.Tensor]) -> torch.Tensor:
        return byol_loss(q, targets)

    def loss(self, views: list[torch.Tensor], epoch: int) -> torch.Tensor:
        view_pairs(len(views))
        q = [self.predictor(self.projector(self.backbone(v))) for v in views]
        return self.objective(q, self.teacher(views[:2]))
