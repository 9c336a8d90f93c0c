"""ReSSL (Zheng et al., NeurIPS 2021), as solo-learn trains it.

Relational targets: the query ``q`` (normalized projection of view 1) and the EMA key ``k``
(view 2) are compared with a queue of past keys; ``L = H(softmax(k Q^T / T_k),
softmax(q Q^T / T_q))``; then the keys (all GPUs) are queued. Projector
``Linear-ReLU-Linear`` (with biases). solo-learn's yaml also lists ``base_tau_momentum``,
``final_tau_momentum`` and ``momentum_classifier``, which its code never reads (the EMA
follows ``momentum.*``): they are accepted and ignored here too.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from sweeper.ssl.methods.base import MomentumMethod, frozen_copy, full_precision, two_views
from sweeper.ssl.methods.checks import positive
from sweeper.ssl.methods.heads import mlp
from sweeper.ssl.methods.queue import EmbeddingQueue


def ressl_loss(q: torch.Tensor, k: torch.Tensor, queue: torch.Tensor, temperature_q: float,
               temperature_k: float) -> torch.Tensor:
    target = F.softmax((k @ queue.T).detach() / temperature_k, dim=1)
    return -(target * F.log_softmax(q @ queue.T / temperature_q, dim=1)).sum(dim=1).mean()


class ReSSL(MomentumMethod):
    name = "ressl"

    def __init__(self, backbone: nn.Module, feat_dim: int, proj_hidden_dim: int,
                 proj_output_dim: int, temperature_q: float, temperature_k: float,
                 queue_size: int, base_tau_momentum: Any = None, final_tau_momentum: Any = None,
                 momentum_classifier: Any = None) -> None:
        positive("temperature_q", temperature_q)
        positive("temperature_k", temperature_k)
        super().__init__(backbone, feat_dim)
        self.projector = mlp(feat_dim, proj_hidden_dim, proj_output_dim, hidden_bn=False)
        self.backbone_momentum = frozen_copy(backbone)
        self.projector_momentum = frozen_copy(self.projector)
        self.queue = EmbeddingQueue(queue_size, proj_output_dim)
        self.temperature_q, self.temperature_k = temperature_q, temperature_k

    @full_precision
    def objective(self, q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
        """Normalized query (view 1) and key (view 2); queues the key."""
        loss = ressl_loss(q, k, self.queue.bank.clone(), self.temperature_q,
                          self.temperature_k)
        self.queue.push(k)
        return loss

    def loss(self, views: list[torch.Tensor], epoch: int) -> torch.Tensor:
        views = two_views(views, self.name)
        q = F.normalize(self.projector(self.backbone(views[0])), dim=-1)
        k = F.normalize(self.teacher([views[1]])[0], dim=-1)
        return self.objective(q, k)
