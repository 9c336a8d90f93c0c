"""MoCo v3 (Chen, Xie & He, ICCV 2021): query = predictor(projector(f)), key from the EMA
encoder, InfoNCE against the other keys of the (global) batch.

``ctr(q, k) = 2 T * CE(norm(q) norm(k)^T / T, diag)`` and ``L = ctr(q_1, k_2) + ctr(q_2, k_1)``
(Algorithm 1 of the paper). Keys are gathered across GPUs, queries stay local.
"""

from __future__ import annotations

import torch
import torch.distributed as dist
import torch.nn.functional as F
from lightly.models.modules import BYOLPredictionHead, MoCoProjectionHead
from lightly.models.utils import concat_all_gather
from torch import nn

from sweeper.ssl.methods.base import MomentumMethod, frozen_copy, view_pairs


def moco_contrastive(q: torch.Tensor, k: torch.Tensor, temperature: float) -> torch.Tensor:
    """``2 T * CE(q k^T / T)`` with positives on the diagonal (offset by the GPU's rank)."""
    q, k = F.normalize(q, dim=1), F.normalize(k, dim=1)
    offset = 0
    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        k = concat_all_gather(k)
        offset = dist.get_rank() * q.shape[0]
    logits = q @ k.T / temperature
    labels = torch.arange(q.shape[0], device=q.device) + offset
    return 2 * temperature * F.cross_entropy(logits, labels)


class MoCoV3(MomentumMethod):
    name = "mocov3"

    def __init__(self, backbone: nn.Module, feat_dim: int, proj_hidden_dim: int,
                 proj_output_dim: int, pred_hidden_dim: int, temperature: float) -> None:
        super().__init__(backbone, feat_dim)
        self.projector = MoCoProjectionHead(feat_dim, proj_hidden_dim, proj_output_dim,
                                            num_layers=2, batch_norm=True)
        self.predictor = BYOLPredictionHead(proj_output_dim, pred_hidden_dim, proj_output_dim)
        self.backbone_momentum = frozen_copy(backbone)
        self.projector_momentum = frozen_copy(self.projector)
        self.temperature = temperature

    def loss(self, views: list[torch.Tensor], epoch: int) -> torch.Tensor:
        q = [self.predictor(self.projector(self.backbone(v))) for v in views]
        k = self.teacher(views)
        pairs = view_pairs(len(views))
        total = torch.zeros((), device=q[0].device)
        for i, j in pairs:
            total = total + moco_contrastive(q[i], k[j], self.temperature) \
                + moco_contrastive(q[j], k[i], self.temperature)
        return total / len(pairs)
