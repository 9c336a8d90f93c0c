"""SwAV (Caron et al., NeurIPS 2020), as solo-learn trains it.

Normalized projections ``z`` are scored against L2-normalized prototypes (a weight-normalized
linear layer with its scale fixed at 1): ``p = W z``. For each large crop, Sinkhorn-Knopp
(lightly's ``sinkhorn``: ``sk_iters`` iterations, ``sk_epsilon``) turns its scores, with
those of a queue of past projections once ``epoch >= epoch_queue_starts``, into codes ``q``;
``L = mean_{t, v != t} -sum q_t log softmax(p_v / T)`` over large crops ``t`` and all views
``v``. The prototypes get no gradient for ``freeze_prototypes_epochs`` epochs. Projector
``Linear-BN-ReLU-Linear`` (with biases).
"""

from __future__ import annotations

import torch
import torch.distributed as dist
import torch.nn.functional as F
from lightly.loss.swav_loss import sinkhorn
from torch import nn
from torch.nn.utils import parametrizations

from sweeper.ssl.methods.base import SSLMethod, full_precision, view_pairs
from sweeper.ssl.methods.checks import at_least, positive
from sweeper.ssl.methods.heads import mlp


def swav_loss(preds: list[torch.Tensor], codes: list[torch.Tensor], temperature: float
              ) -> torch.Tensor:
    losses = [-(q * F.log_softmax(preds[v] / temperature, dim=1)).sum(dim=1).mean()
              for t, q in enumerate(codes) for v in range(len(preds)) if v != t]
    return torch.stack(losses).mean()


class SwAV(SSLMethod):
    name = "swav"
    queue: torch.Tensor

    def __init__(self, backbone: nn.Module, feat_dim: int, proj_hidden_dim: int,
                 proj_output_dim: int, num_prototypes: int, temperature: float,
                 queue_size: int, epoch_queue_starts: int, freeze_prototypes_epochs: int,
                 sk_iters: int, sk_epsilon: float) -> None:
        positive("temperature", temperature)
        positive("sk_epsilon", sk_epsilon)
        at_least("sk_iters", sk_iters, 1)
        super().__init__(backbone, feat_dim)
        self.projector = mlp(feat_dim, proj_hidden_dim, proj_output_dim)
        self.prototypes = parametrizations.weight_norm(
            nn.Linear(proj_output_dim, num_prototypes, bias=False))
        g = self.prototypes.parametrizations.weight.original0
        g.data.fill_(1)
        g.requires_grad = False
        self.register_buffer("queue", torch.zeros(2, queue_size, proj_output_dim))
        self.queue_split = False
        self.temperature, self.sk_iters, self.sk_epsilon = temperature, sk_iters, sk_epsilon
        self.epoch_queue_starts = epoch_queue_starts
        self.freeze_prototypes_epochs = freeze_prototypes_epochs

    @torch.no_grad()
    def codes(self, preds: list[torch.Tensor], epoch: int) -> list[torch.Tensor]:
        out = []
        use_queue = self.queue.shape[1] > 0 and epoch >= self.epoch_queue_starts
        for i, p in enumerate(preds):
            if use_queue:
                p = torch.cat([p, self.prototypes(self.queue[i])])
            out.append(sinkhorn(p, iterations=self.sk_iters, epsilon=self.sk_epsilon,
                                gather_distributed=True)[:preds[0].shape[0]])
        return out

    @full_precision
    def objective(self, z: list[torch.Tensor], epoch: int) -> torch.Tensor:
        """``z``: normalized projections, large crops first; queues the large crops'."""
        world = dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1
        if world > 1 and not self.queue_split:  # solo-learn: queue_size in all, per GPU a part
            self.queue = self.queue[:, :self.queue.shape[1] // world].contiguous()
            self.queue_split = True
        preds = [self.prototypes(zi) for zi in z]
        loss = swav_loss(preds, self.codes(preds[:2], epoch), self.temperature)
        if self.queue.shape[1] > 0:
            n = z[0].shape[0]
            self.queue[:, n:] = self.queue[:, :-n].clone()
            self.queue[:, :n] = torch.stack(z[:2]).detach()[:, :self.queue.shape[1]]
        return loss

    def loss(self, views: list[torch.Tensor], epoch: int) -> torch.Tensor:
        view_pairs(len(views))
        z = [F.normalize(self.projector(self.backbone(v)), dim=-1) for v in views]
        return self.objective(z, epoch)

    def after_backward(self, epoch: int) -> None:
        if epoch < self.freeze_prototypes_epochs:
            for p in self.prototypes.parameters():
                p.grad = None
