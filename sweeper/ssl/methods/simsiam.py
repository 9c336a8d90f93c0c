"""SimSiam (Chen & He, CVPR 2021), as solo-learn trains it.

``L = -cos(p_1, sg(z_2)) / 2 - cos(p_2, sg(z_1)) / 2``. Projector
``Linear-BN-ReLU-Linear-BN-ReLU-Linear-BN`` (no biases before a BatchNorm; the last
BatchNorm has no scale or shift and the bias before it is frozen), predictor
``Linear-BN-ReLU-Linear``. solo-learn keeps the predictor's learning rate fixed at the base
rate (no schedule); that lives in the optimizer set-up.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from sweeper.ssl.methods.base import SSLMethod, full_precision, two_views
from sweeper.ssl.methods.heads import mlp


def simsiam_projector(feat_dim: int, hidden: int, out: int) -> nn.Sequential:
    head = mlp(feat_dim, hidden, out, layers=3, bias=False, last_bias=True, last_bn="plain")
    head[6].bias.requires_grad = False  # followed by a BatchNorm: the bias does nothing
    return head


def simsiam_loss(p: list[torch.Tensor], z: list[torch.Tensor]) -> torch.Tensor:
    def d(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return -F.cosine_similarity(a, b.detach(), dim=-1).mean()

    return d(p[0], z[1]) / 2 + d(p[1], z[0]) / 2


class SimSiam(SSLMethod):
    name = "simsiam"

    def __init__(self, backbone: nn.Module, feat_dim: int, proj_hidden_dim: int,
                 proj_output_dim: int, pred_hidden_dim: int, temperature: float = 0.2) -> None:
        super().__init__(backbone, feat_dim)
        self.projector = simsiam_projector(feat_dim, proj_hidden_dim, proj_output_dim)
        self.predictor = mlp(proj_output_dim, pred_hidden_dim, proj_output_dim, bias=False,
                             last_bias=True)

    def static_lr_modules(self) -> list[nn.Module]:
        return [self.predictor]

    @full_precision
    def objective(self, p: list[torch.Tensor], z: list[torch.Tensor]) -> torch.Tensor:
        return simsiam_loss(p, z)

    def loss(self, views: list[torch.Tensor], epoch: int) -> torch.Tensor:
        z = [self.projector(self.backbone(v)) for v in two_views(views, self.name)]
        return self.objective([self.predictor(zi) for zi in z], z)
