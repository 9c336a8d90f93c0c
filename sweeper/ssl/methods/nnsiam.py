"""NNSiam (solo-learn's SimSiam with nearest neighbours): SimSiam whose targets are the
nearest neighbours, in a queue of past normalized projections, of each view's normalized
projection; ``L = -cos(p_1, sg(nn_2)) / 2 - cos(p_2, sg(nn_1)) / 2``; view 1's projections
are queued. Heads as SimSiam's, the predictor at a fixed learning rate.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from sweeper.ssl.methods.base import SSLMethod, full_precision, two_views
from sweeper.ssl.methods.heads import mlp
from sweeper.ssl.methods.queue import EmbeddingQueue
from sweeper.ssl.methods.simsiam import simsiam_loss, simsiam_projector


class NNSiam(SSLMethod):
    name = "nnsiam"

    def __init__(self, backbone: nn.Module, feat_dim: int, proj_hidden_dim: int,
                 proj_output_dim: int, pred_hidden_dim: int, queue_size: int) -> None:
        super().__init__(backbone, feat_dim)
        self.projector = simsiam_projector(feat_dim, proj_hidden_dim, proj_output_dim)
        self.predictor = mlp(proj_output_dim, pred_hidden_dim, proj_output_dim, bias=False,
                             last_bias=True)
        self.queue = EmbeddingQueue(queue_size, proj_output_dim)

    def static_lr_modules(self) -> list[nn.Module]:
        return [self.predictor]

    @full_precision
    def objective(self, p: list[torch.Tensor], z: list[torch.Tensor]) -> torch.Tensor:
        """``z``: the normalized projections; queues ``z[0]``."""
        nn1, nn2 = self.queue.nearest(z[0]), self.queue.nearest(z[1])
        loss = simsiam_loss(p, [nn1, nn2])
        self.queue.push(z[0])
        return loss

    def loss(self, views: list[torch.Tensor], epoch: int) -> torch.Tensor:
        z = [self.projector(self.backbone(v)) for v in two_views(views, self.name)]
        return self.objective([self.predictor(zi) for zi in z],
                              [F.normalize(zi, dim=-1) for zi in z])
