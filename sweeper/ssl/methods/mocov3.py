"""MoCo v3 (Chen, Xie & He, ICCV 2021), as solo-learn trains it.

``ctr(q, k) = 2 T * CE(norm(q) norm(k)^T / T, diag)`` with keys gathered across GPUs;
``L = ctr(q_1, k_2) + ctr(q_2, k_1)``. For ResNets (solo-learn: a backbone whose name
contains "resnet") the projector is ``Linear-BN-ReLU-Linear-BN`` and the predictor
``Linear-BN-ReLU-Linear``; for other backbones the projector has three layers and the
predictor ends in a BatchNorm too. No biases; the final BatchNorms have no scale or shift.
"""

from __future__ import annotations

import torch
import torch.distributed as dist
import torch.nn.functional as F
from lightly.models.utils import concat_all_gather
from torch import nn

from sweeper.ssl.methods.base import MomentumMethod, frozen_copy, full_precision, two_views
from sweeper.ssl.methods.checks import positive
from sweeper.ssl.methods.heads import mlp


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


def is_resnet(backbone: nn.Module) -> bool:
    return "resnet" in type(backbone).__name__.lower()


class MoCoV3(MomentumMethod):
    name = "mocov3"

    def __init__(self, backbone: nn.Module, feat_dim: int, proj_hidden_dim: int,
                 proj_output_dim: int, pred_hidden_dim: int, temperature: float) -> None:
        positive("temperature", temperature)
        super().__init__(backbone, feat_dim)
        resnet = is_resnet(backbone)
        self.projector = mlp(feat_dim, proj_hidden_dim, proj_output_dim,
                             layers=2 if resnet else 3, bias=False, last_bn="plain")
        self.predictor = mlp(proj_output_dim, pred_hidden_dim, proj_output_dim, bias=False,
                             last_bn=None if resnet else "plain")
        self.backbone_momentum = frozen_copy(backbone)
        self.projector_momentum = frozen_copy(self.projector)
        self.temperature = temperature

    @full_precision
    def objective(self, q: list[torch.Tensor], k: list[torch.Tensor]) -> torch.Tensor:
        return (moco_contrastive(q[0], k[1], self.temperature)
                + moco_contrastive(q[1], k[0], self.temperature))

    def loss(self, views: list[torch.Tensor], epoch: int) -> torch.Tensor:
        views = two_views(views, self.name)
        q = [self.predictor(self.projector(self.backbone(v))) for v in views]
        return self.objective(q, self.teacher(views))
