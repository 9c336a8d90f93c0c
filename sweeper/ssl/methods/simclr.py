"""SimCLR (Chen et al., ICML 2020), as solo-learn trains it.

Projector ``Linear-ReLU-Linear`` (with biases). Loss over all ``V`` views at once: with
``z`` the L2-normalized projections of every view and every GPU,
``L = -mean_i log( sum_{j != i, same image} e^{z_i.z_j/T} / sum_{j != i} e^{z_i.z_j/T} )``;
with two views this is NT-Xent.
"""

from __future__ import annotations

import torch
import torch.distributed as dist
import torch.nn.functional as F
from lightly.utils.dist import gather
from torch import nn

from sweeper.ssl.methods.base import SSLMethod, full_precision, view_pairs
from sweeper.ssl.methods.checks import exp_temperature
from sweeper.ssl.methods.heads import mlp


def simclr_loss(z: list[torch.Tensor], temperature: float) -> torch.Tensor:
    """solo-learn's multi-positive NT-Xent over the views ``z`` (each ``N x D``)."""
    n = z[0].shape[0]
    rank = 0
    zs = F.normalize(torch.cat(z), dim=-1)
    ids = torch.arange(n, device=zs.device).repeat(len(z))
    everyone = zs
    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        rank = dist.get_rank()
        everyone = torch.cat(gather(zs))
        ids_all = torch.cat([ids + r * n for r in range(dist.get_world_size())])
        ids = ids + rank * n
    else:
        ids_all = ids
    sim = torch.exp(zs @ everyone.T / temperature)
    pos = ids[:, None] == ids_all[None, :]
    pos[:, zs.shape[0] * rank:].fill_diagonal_(False)
    neg = ids[:, None] != ids_all[None, :]
    p, q = (sim * pos).sum(1), (sim * neg).sum(1)
    return -torch.log(p / (p + q)).mean()


class SimCLR(SSLMethod):
    name = "simclr"

    def __init__(self, backbone: nn.Module, feat_dim: int, proj_hidden_dim: int,
                 proj_output_dim: int, temperature: float) -> None:
        exp_temperature("temperature", temperature)
        super().__init__(backbone, feat_dim)
        self.projector = mlp(feat_dim, proj_hidden_dim, proj_output_dim, hidden_bn=False)
        self.temperature = temperature

    @full_precision
    def objective(self, z: list[torch.Tensor]) -> torch.Tensor:
        return simclr_loss(z, self.temperature)

    def loss(self, views: list[torch.Tensor], epoch: int) -> torch.Tensor:
        view_pairs(len(views))
        return self.objective([self.projector(self.backbone(v)) for v in views])
