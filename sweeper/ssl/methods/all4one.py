"""All4One (Estepa et al., ICCV 2023), as solo-learn trains it.

NNCLR's nearest-neighbour contrast plus two more terms, on an EMA teacher:

- ``nnclr``: ``[ctr(nn_1, p_2) + ctr(nn_2, p_1)] / 2`` at ``temperature``, where ``nn_v`` is
  the top neighbour, in a queue of the teacher's past normalized projections, of the
  teacher's projection ``t_v``, and ``p_v = predictor(z_v)``;
- ``centroid`` (solo-learn's ``att_nnclr``): a 3-layer transformer reads each view's set of 5
  neighbours (``r_v``, first token out) and the same set shifted by one with
  ``predictor2(z_v)`` in front (``s_v``); ``[ctr(r_1, s_2) + ctr(r_2, s_1)] / 2`` at 0.1;
- ``redundancy`` (``feature``): with ``C_1 = norm_0(t_1)^T norm_0(z_2)`` (columns unit-norm
  over the batch) and ``C_2`` alike, ``10 * (sqrt(mean_diag (C - 1)^2) +
  sqrt(mean_offdiag C^2)) / 2``, each mean taken over both matrices.

``L = (centroid + nnclr + redundancy) / 2``; view 1's teacher projections are queued. Both
token sets get solo-learn's position code (:func:`token_position_code`) added. The
transformer (``d_model = proj_output_dim``, 8 heads, feed-forward ``2 d``, dropout 0.1) has
its own peak learning rate 0.1, unscaled by batch size, on the same warm-up/cosine shape.
Projectors ``Linear-BN-ReLU-Linear-BN-ReLU-Linear-BN``, predictors ``Linear-BN-ReLU-Linear``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from sweeper.ssl.methods.base import MomentumMethod, frozen_copy, full_precision, two_views
from sweeper.ssl.methods.checks import positive
from sweeper.ssl.methods.heads import mlp
from sweeper.ssl.methods.nnclr import nnclr_loss
from sweeper.ssl.methods.queue import EmbeddingQueue

__all__ = ["All4One", "redundancy_loss", "token_position_code"]

N_NEIGHBOURS = 5
TRANSFORMER_LR = 0.1  # solo-learn's All4One.learnable_params
CENTROID_TEMPERATURE = 0.1  # solo-learn's nnclr_loss_func default, used for that term


def token_position_code(n_tokens: int, dim: int) -> torch.Tensor:
    """solo-learn's position code for a ``(B, n_tokens, dim)`` token set, ``n_tokens x dim``.

    solo-learn encodes the token set transposed (``PositionalEncodingPermute1D(5)``): the
    position runs over the ``dim`` features and the tokens are the channels, so token ``c``
    gets ``sin(x w_{c//2})`` (even ``c``) or ``cos(x w_{c//2})`` (odd ``c``) at feature
    ``x``, with ``w_i = 10000^(-2i / C)`` and ``C`` = ``n_tokens`` rounded up to even.
    """
    channels = n_tokens + n_tokens % 2
    inv_freq = 1.0 / 10000 ** (torch.arange(0, channels, 2, dtype=torch.float32) / channels)
    angle = torch.arange(dim, dtype=torch.float32)[:, None] * inv_freq[None, :]
    code = torch.stack((angle.sin(), angle.cos()), dim=-1).flatten(1)  # dim x channels
    return code[:, :n_tokens].T.contiguous()


def _off_diagonal(c: torch.Tensor) -> torch.Tensor:
    n = c.shape[0]
    return c.flatten()[:-1].view(n - 1, n + 1)[:, 1:].flatten()


def redundancy_loss(targets: list[torch.Tensor], z: list[torch.Tensor]) -> torch.Tensor:
    """All4One's feature term over the cross-correlations of teacher and student columns."""
    c1 = F.normalize(targets[0], dim=0).T @ F.normalize(z[1], dim=0)
    c2 = F.normalize(targets[1], dim=0).T @ F.normalize(z[0], dim=0)
    on = ((torch.diagonal(c1).add(-1).pow(2).mean()
           + torch.diagonal(c2).add(-1).pow(2).mean()) / 2).sqrt()
    off = ((_off_diagonal(c1).pow(2).mean() + _off_diagonal(c2).pow(2).mean()) / 2).sqrt()
    return (on + off) / 2 * 10


class All4One(MomentumMethod):
    name = "all4one"
    position_code: torch.Tensor

    def __init__(self, backbone: nn.Module, feat_dim: int, proj_hidden_dim: int,
                 proj_output_dim: int, pred_hidden_dim: int, temperature: float,
                 queue_size: int = 65536) -> None:
        positive("temperature", temperature)
        super().__init__(backbone, feat_dim)
        if proj_output_dim % 8:
            raise ValueError(f"method_kwargs.proj_output_dim={proj_output_dim}: All4One's "
                             "transformer has 8 heads, so it must be a multiple of 8")
        if queue_size < N_NEIGHBOURS:
            raise ValueError(f"method_kwargs.queue_size={queue_size}: All4One reads "
                             f"{N_NEIGHBOURS} neighbours, so it must be at least that")
        self.projector = mlp(feat_dim, proj_hidden_dim, proj_output_dim, layers=3,
                             last_bn="affine")
        self.predictor = mlp(proj_output_dim, pred_hidden_dim, proj_output_dim)
        self.predictor2 = mlp(proj_output_dim, pred_hidden_dim, proj_output_dim)
        layer = nn.TransformerEncoderLayer(proj_output_dim, nhead=8, batch_first=True,
                                           dim_feedforward=2 * proj_output_dim, dropout=0.1)
        self.transformer_encoder = nn.TransformerEncoder(layer, num_layers=3,
                                                         enable_nested_tensor=False)
        self.backbone_momentum = frozen_copy(backbone)
        self.projector_momentum = frozen_copy(self.projector)
        self.queue = EmbeddingQueue(queue_size, proj_output_dim)
        self.register_buffer("position_code",
                             token_position_code(N_NEIGHBOURS, proj_output_dim),
                             persistent=False)
        self.temperature = temperature

    def own_lr_modules(self) -> list[tuple[nn.Module, float]]:
        return [(self.transformer_encoder, TRANSFORMER_LR)]

    def _first_token(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.transformer_encoder(tokens + self.position_code)[:, 0, :]

    @full_precision
    def objective(self, z: list[torch.Tensor], p: list[torch.Tensor],
                  p2: list[torch.Tensor], targets: list[torch.Tensor]) -> torch.Tensor:
        """``z``: projections, ``p`` / ``p2``: the two predictors' outputs, ``targets``: the
        teacher's normalized projections (``targets[0]`` is queued)."""
        nn1, nn2 = (self.queue.topk(t, N_NEIGHBOURS) for t in targets)
        rich = [self._first_token(nn1), self._first_token(nn2)]
        shifted = [self._first_token(torch.cat((q.unsqueeze(1), n), 1)[:, :N_NEIGHBOURS])
                   for q, n in ((p2[0], nn1), (p2[1], nn2))]
        centroid = (nnclr_loss(rich[0], shifted[1], CENTROID_TEMPERATURE) / 2
                    + nnclr_loss(rich[1], shifted[0], CENTROID_TEMPERATURE) / 2)
        contrast = (nnclr_loss(nn1[:, 0], p[1], self.temperature) / 2
                    + nnclr_loss(nn2[:, 0], p[0], self.temperature) / 2)
        loss = (centroid + contrast + redundancy_loss(targets, z)) / 2
        self.queue.push(targets[0])
        return loss

    def loss(self, views: list[torch.Tensor], epoch: int) -> torch.Tensor:
        views = two_views(views, self.name)
        z = [self.projector(self.backbone(v)) for v in views]
        targets = [F.normalize(t, dim=-1) for t in self.teacher(views)]
        return self.objective(z, [self.predictor(zi) for zi in z],
                              [self.predictor2(zi) for zi in z], targets)
