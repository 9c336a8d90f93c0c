"""NNCLR (Dwibedi et al., ICCV 2021), as solo-learn trains it.

Each view's normalized projection is replaced by its nearest neighbour in a queue of past
projections (view 1's are queued); ``L = [ctr(nn_1, p_2) + ctr(nn_2, p_1)] / 2`` with
``ctr(a, b) = CE(norm(a) norm(b)^T / T, diag)``, predictions gathered across GPUs.
Projector ``Linear-BN-ReLU-Linear-BN-ReLU-Linear-BN``, predictor ``Linear-BN-ReLU-Linear``.
"""

from __future__ import annotations

import torch
import torch.distributed as dist
import torch.nn.functional as F
from lightly.utils.dist import gather
from torch import nn

from sweeper.ssl.methods.base import SSLMethod, full_precision, two_views
from sweeper.ssl.methods.checks import positive
from sweeper.ssl.methods.heads import mlp
from sweeper.ssl.methods.queue import EmbeddingQueue


def nnclr_loss(nn_: torch.Tensor, p: torch.Tensor, temperature: float) -> torch.Tensor:
    nn_, p = F.normalize(nn_, dim=-1), F.normalize(p, dim=-1)
    rank = 0
    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        rank = dist.get_rank()
        p = torch.cat(gather(p))
    n = nn_.shape[0]
    labels = torch.arange(n * rank, n * (rank + 1), device=p.device)
    return F.cross_entropy(nn_ @ p.T / temperature, labels)


class NNCLR(SSLMethod):
    name = "nnclr"

    def __init__(self, backbone: nn.Module, feat_dim: int, proj_hidden_dim: int,
                 proj_output_dim: int, pred_hidden_dim: int, temperature: float,
                 queue_size: int) -> None:
        positive("temperature", temperature)
        super().__init__(backbone, feat_dim)
        self.projector = mlp(feat_dim, proj_hidden_dim, proj_output_dim, layers=3,
                             last_bn="affine")
        self.predictor = mlp(proj_output_dim, pred_hidden_dim, proj_output_dim)
        self.queue = EmbeddingQueue(queue_size, proj_output_dim)
        self.temperature = temperature

    @full_precision
    def objective(self, z: list[torch.Tensor], p: list[torch.Tensor]) -> torch.Tensor:
        """``z``: the normalized projections, ``p``: the predictions; queues ``z[0]``."""
        nn1, nn2 = self.queue.nearest(z[0]), self.queue.nearest(z[1])
        loss = (nnclr_loss(nn1, p[1], self.temperature) / 2
                + nnclr_loss(nn2, p[0], self.temperature) / 2)
        self.queue.push(z[0])
        return loss

    def loss(self, views: list[torch.Tensor], epoch: int) -> torch.Tensor:
        z = [self.projector(self.backbone(v)) for v in two_views(views, self.name)]
        p = [self.predictor(zi) for zi in z]
        return self.objective([F.normalize(zi, dim=-1) for zi in z], p)
