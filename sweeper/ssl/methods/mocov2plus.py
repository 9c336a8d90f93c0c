"""MoCo v2+ (Chen et al., 2020; solo-learn's variant), as solo-learn trains it.

Queries ``q = norm(projector(f))``, keys ``k`` from the EMA encoder; negatives from a queue
of past keys kept per view; ``L = [ctr(q_1, k_2, Q_2) + ctr(q_2, k_1, Q_1)] / 2`` with
``ctr(q, k, Q) = CE([q.k, q Q^T] / T, 0)``; then both views' keys (all GPUs) are queued.
Projector ``Linear-ReLU-Linear`` (with biases).
"""

from __future__ import annotations

from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

from sweeper.ssl.methods.base import MomentumMethod, frozen_copy, full_precision, two_views
from sweeper.ssl.methods.checks import positive
from sweeper.ssl.methods.heads import mlp
from sweeper.ssl.methods.queue import EmbeddingQueue


def moco_queue_loss(q: torch.Tensor, k: torch.Tensor, negatives: torch.Tensor,
                    temperature: float) -> torch.Tensor:
    pos = (q * k).sum(dim=1, keepdim=True)
    logits = torch.cat([pos, q @ negatives.T], dim=1) / temperature
    return F.cross_entropy(logits, torch.zeros(q.shape[0], dtype=torch.long, device=q.device))


class MoCoV2Plus(MomentumMethod):
    name = "mocov2plus"

    def __init__(self, backbone: nn.Module, feat_dim: int, proj_hidden_dim: int,
                 proj_output_dim: int, temperature: float, queue_size: int) -> None:
        positive("temperature", temperature)
        super().__init__(backbone, feat_dim)
        self.projector = mlp(feat_dim, proj_hidden_dim, proj_output_dim, hidden_bn=False)
        self.backbone_momentum = frozen_copy(backbone)
        self.projector_momentum = frozen_copy(self.projector)
        self.queues = nn.ModuleList([EmbeddingQueue(queue_size, proj_output_dim)
                                     for _ in range(2)])
        self.temperature = temperature

    @full_precision
    def objective(self, q: list[torch.Tensor], k: list[torch.Tensor]) -> torch.Tensor:
        """``q``, ``k``: normalized queries and keys of the two views; queues the keys."""
        queues = cast(list[EmbeddingQueue], list(self.queues))
        banks = [queue.bank.clone() for queue in queues]
        loss = (moco_queue_loss(q[0], k[1], banks[1], self.temperature)
                + moco_queue_loss(q[1], k[0], banks[0], self.temperature)) / 2
        for queue, key in zip(queues, k, strict=True):
            queue.push(key)
        return loss

    def loss(self, views: list[torch.Tensor], epoch: int) -> torch.Tensor:
        views = two_views(views, self.name)
        q = [F.normalize(self.projector(self.backbone(v)), dim=-1) for v in views]
        return self.objective(q, [F.normalize(k, dim=-1) for k in self.teacher(views)])
