"""NNBYOL (solo-learn's BYOL with nearest neighbours): BYOL whose targets are the nearest
neighbours, in a queue of past target projections, of the EMA target's normalized
projections; ``L = (2 - 2 cos(p_1, nn'_2)) + (2 - 2 cos(p_2, nn'_1))``; view 1's target
projections are queued. Heads as BYOL's.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from sweeper.ssl.methods.base import MomentumMethod, frozen_copy, full_precision, two_views
from sweeper.ssl.methods.byol import byol_loss
from sweeper.ssl.methods.heads import mlp
from sweeper.ssl.methods.queue import EmbeddingQueue


class NNBYOL(MomentumMethod):
    name = "nnbyol"

    def __init__(self, backbone: nn.Module, feat_dim: int, proj_hidden_dim: int,
                 proj_output_dim: int, pred_hidden_dim: int, queue_size: int) -> None:
        super().__init__(backbone, feat_dim)
        self.projector = mlp(feat_dim, proj_hidden_dim, proj_output_dim)
        self.predictor = mlp(proj_output_dim, pred_hidden_dim, proj_output_dim)
        self.backbone_momentum = frozen_copy(backbone)
        self.projector_momentum = frozen_copy(self.projector)
        self.queue = EmbeddingQueue(queue_size, proj_output_dim)

    @full_precision
    def objective(self, p: list[torch.Tensor], targets: list[torch.Tensor]) -> torch.Tensor:
        """``targets``: the normalized target projections; queues ``targets[0]``."""
        nn1, nn2 = self.queue.nearest(targets[0]), self.queue.nearest(targets[1])
        loss = byol_loss(p, [nn1, nn2])
        self.queue.push(targets[0])
        return loss

    def loss(self, views: list[torch.Tensor], epoch: int) -> torch.Tensor:
        views = two_views(views, self.name)
        p = [self.predictor(self.projector(self.backbone(v))) for v in views]
        return self.objective(p, [F.normalize(t, dim=-1) for t in self.teacher(views)])
