"""Spherical k-means over DeepClusterV2's memory bank (Caron et al., 2020), as solo-learn
runs it: centroids start at random bank entries (``torch.randperm`` of rank 0, broadcast),
then ``iters`` rounds of (assign each embedding to its largest dot product; move each
non-empty cluster's centroid to its members' mean, renormalized), and a final assignment.
Prototype set ``i`` clusters the embeddings of large crop ``i mod n_crops``.

The initial centroids draw from ``generator`` when one is given: DeepClusterV2 passes its
own, because Lightning creates the epoch's DataLoader iterator (a draw from the global RNG)
after the epoch-start hook in an uninterrupted run and before it in a resumed one, so a
global draw would give a resumed run other centroids."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.distributed as dist
import torch.nn.functional as F
from lightly.models.utils import concat_all_gather

__all__ = ["cluster_memory"]


def _distributed() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


@torch.no_grad()
def _kmeans(bank: torch.Tensor, k: int, iters: int, generator: torch.Generator | None = None
            ) -> tuple[torch.Tensor, torch.Tensor]:
    """``(assignments of bank's rows, unit centroids k x D)``."""
    if bank.shape[0] < k:
        raise ValueError(f"k-means with {k} prototypes needs at least {k} embeddings in the "
                         f"memory bank, it holds {bank.shape[0]}: lower "
                         "method_kwargs.num_prototypes")
    first = torch.randperm(bank.shape[0], generator=generator)[:k]
    centroids = bank[first.to(bank.device)].clone()
    if _distributed():
        dist.broadcast(centroids, 0)
    for step in range(iters + 1):
        assign = (bank @ centroids.T).argmax(dim=1)
        if step == iters:
            return assign, centroids
        sums = torch.zeros_like(centroids).index_add_(0, assign, bank)
        counts = torch.bincount(assign, minlength=k)
        if _distributed():
            dist.all_reduce(sums)
            dist.all_reduce(counts)
        filled = counts > 0
        centroids[filled] = sums[filled] / counts[filled].unsqueeze(1).to(sums.dtype)
        centroids = F.normalize(centroids, dim=1)
    raise AssertionError("unreachable")


@torch.no_grad()
def cluster_memory(sample_ids: torch.Tensor, banks: torch.Tensor, dataset_size: int,
                   num_prototypes: Sequence[int], iters: int,
                   generator: torch.Generator | None = None
                   ) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Cluster the memory bank once per prototype set.

    Args:
        sample_ids: M dataset indices of the bank's rows (this process's).
        banks: V x M x D unit embeddings, one bank per large crop.
        dataset_size: how many samples the dataset holds.
        num_prototypes: k of each prototype set.
        iters: k-means rounds.
        generator: a CPU generator for the initial centroids; None: the global RNG, as
            solo-learn draws them.

    Returns:
        ``(assignments P x dataset_size with -1 for samples not in the bank, centroids)``.

    Example:
        >>> banks = F.normalize(torch.randn(2, 16, 4), dim=-1)
        >>> a, c = cluster_memory(torch.arange(16), banks, 20, [3, 5], 2)
        >>> a.shape, [x.shape[0] for x in c], int(a[0, 16:].max())
        (torch.Size([2, 20]), [3, 5], -1)
    """
    assignments = -torch.ones(len(num_prototypes), dataset_size, dtype=torch.long)
    centroids = []
    for i, k in enumerate(num_prototypes):
        assign, cents = _kmeans(banks[i % banks.shape[0]], int(k), iters, generator)
        centroids.append(cents)
        ids = sample_ids
        if _distributed():
            assign, ids = concat_all_gather(assign), concat_all_gather(sample_ids)
        assignments[i, ids.cpu()] = assign.cpu()
    return assignments, centroids
