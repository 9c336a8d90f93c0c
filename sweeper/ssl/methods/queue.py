"""A first-in first-out bank of past embeddings (all GPUs), as solo-learn keeps one for
NNCLR, NNBYOL, NNSiam, ReSSL, MoCo v2+ and All4One: random unit vectors at the start, the newest
batch written at a moving pointer."""

from __future__ import annotations

import torch
import torch.distributed as dist
import torch.nn.functional as F
from lightly.models.utils import concat_all_gather
from torch import nn

__all__ = ["EmbeddingQueue"]


class EmbeddingQueue(nn.Module):
    """``size`` embeddings of ``dim`` dimensions.

    Example:
        >>> q = EmbeddingQueue(8, 4)
        >>> q.push(torch.ones(2, 4))
        >>> q.nearest(torch.ones(3, 4)).shape
        torch.Size([3, 4])
    """

    bank: torch.Tensor
    ptr: torch.Tensor

    def __init__(self, size: int, dim: int) -> None:
        super().__init__()
        if size < 1:
            raise ValueError(f"queue_size must be >= 1, got {size}")
        self.register_buffer("bank", F.normalize(torch.randn(size, dim), dim=1))
        self.register_buffer("ptr", torch.zeros((), dtype=torch.long))

    @torch.no_grad()
    def push(self, z: torch.Tensor) -> None:
        """Write ``z`` (gathered from every GPU) over the oldest entries."""
        if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
            z = concat_all_gather(z.contiguous())
        size = self.bank.shape[0]
        z = z.detach()[-size:]
        idx = (self.ptr + torch.arange(z.shape[0], device=z.device)) % size
        self.bank[idx] = z.to(self.bank.dtype)
        self.ptr.fill_(int((self.ptr + z.shape[0]) % size))

    @torch.no_grad()
    def nearest(self, z: torch.Tensor) -> torch.Tensor:
        """The entry with the largest dot product with each row of ``z``."""
        return self.bank[(z @ self.bank.T).argmax(dim=1)]

    @torch.no_grad()
    def topk(self, z: torch.Tensor, k: int) -> torch.Tensor:
        """The ``k`` entries with the largest dot products with each row of ``z``, best
        first: ``len(z) x k x dim``."""
        return self.bank[(z @ self.bank.T).topk(k, dim=1).indices]
