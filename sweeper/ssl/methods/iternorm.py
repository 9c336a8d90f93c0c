"""IterNorm (Huang et al., CVPR 2019): group whitening by Newton's iterations, VIbCReg's last
projector layer.

The features are split into ``num_groups`` groups of ``num_channels``; per group, with the
batch-centred ``x`` and ``S = x x^T / m + eps I``, ``T`` Newton steps
``P <- 1.5 P - 0.5 P^3 (S / tr S)`` from ``P = I`` approximate ``(S / tr S)^(-1/2)``, and
``W = P / sqrt(tr S)`` whitens ``x``. Autograd differentiates through the iterations (the
gradient the paper derives by hand). Running mean and whitening matrix (momentum 0.1) serve
evaluation. Group sizes as solo-learn picks them: ``ceil(num_features / num_groups)``
channels, halved until they divide ``num_features``.

Example:
    >>> layer = IterNorm(2048)
    >>> (layer.num_groups, layer.num_channels)
    (64, 32)
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["IterNorm"]


class IterNorm(nn.Module):
    """Iterative group whitening of ``B x num_features`` rows, then a per-feature affine.

    Raises:
        ValueError: for a non-positive ``num_features``, ``num_groups`` or ``iterations``.
    """

    running_mean: torch.Tensor
    running_wm: torch.Tensor

    def __init__(self, num_features: int, num_groups: int = 64, iterations: int = 5,
                 eps: float = 1e-5, momentum: float = 0.1) -> None:
        super().__init__()
        if min(num_features, num_groups, iterations) < 1:
            raise ValueError(f"IterNorm needs positive num_features, num_groups and iterations, "
                             f"got {num_features}, {num_groups}, {iterations}")
        channels = (num_features - 1) // num_groups + 1
        while num_features % channels:
            channels //= 2
        self.num_features, self.num_channels = num_features, channels
        self.num_groups = num_features // channels
        self.iterations, self.eps, self.momentum = iterations, eps, momentum
        self.weight = nn.Parameter(torch.ones(1, num_features))
        self.bias = nn.Parameter(torch.zeros(1, num_features))
        self.register_buffer("running_mean", torch.zeros(self.num_groups, channels, 1))
        self.register_buffer("running_wm", torch.eye(channels).repeat(self.num_groups, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # in float32 with autocast off, as solo-learn (fp16 Newton steps diverge)
        with torch.autocast(x.device.type, enabled=False):
            return self._whiten(x.float())

    def _whiten(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[0]
        groups = x.T.reshape(self.num_groups, self.num_channels, n)  # g x d x n
        if self.training:
            mean = groups.mean(-1, keepdim=True)
            centred = groups - mean
            eye = torch.eye(self.num_channels, device=x.device, dtype=x.dtype)
            sigma = centred @ centred.transpose(1, 2) / n + self.eps * eye
            trace = sigma.diagonal(dim1=1, dim2=2).sum(-1).view(-1, 1, 1)
            sigma_n = sigma / trace
            p = eye.expand_as(sigma)
            for _ in range(self.iterations):
                p = 1.5 * p - 0.5 * torch.linalg.matrix_power(p, 3) @ sigma_n
            wm = p / trace.sqrt()
            with torch.no_grad():
                self.running_mean.lerp_(mean, self.momentum)
                self.running_wm.lerp_(wm, self.momentum)
        else:
            centred, wm = groups - self.running_mean, self.running_wm
        white = (wm @ centred).reshape(self.num_features, n).T
        return white * self.weight + self.bias

    def extra_repr(self) -> str:
        return (f"{self.num_features}, num_groups={self.num_groups}, "
                f"iterations={self.iterations}, eps={self.eps}, momentum={self.momentum}")
