"""Batches of a training set: seeded index batches per epoch (shared across DDP ranks) and
the loader that hands them to the dataset whole."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from sweeper.ssl.data.images import ImageSet, TensorImages

__all__ = ["EpochBatchSampler", "make_loader"]


class EpochBatchSampler(Sampler[list[int]]):
    """Index batches from a permutation seeded by ``(seed, epoch)``; each of
    ``num_replicas`` processes takes every ``num_replicas``-th batch. A resumed run sees
    the same batches as an uninterrupted one."""

    def __init__(self, n: int, batch_size: int, seed: int = 0, shuffle: bool = True,
                 drop_last: bool = True, num_replicas: int = 1, rank: int = 0) -> None:
        if batch_size < 1:
            raise ValueError(f"optimizer.batch_size must be >= 1, got {batch_size}")
        if drop_last and n < batch_size * num_replicas:
            raise ValueError(f"the training set has {n} images, fewer than one batch of "
                             f"{batch_size} per device x {num_replicas}: lower "
                             "optimizer.batch_size")
        self.n, self.batch_size, self.seed, self.shuffle = n, batch_size, seed, shuffle
        self.drop_last, self.num_replicas, self.rank, self.epoch = (drop_last, num_replicas,
                                                                   rank, 0)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _batches(self) -> list[list[int]]:
        if self.shuffle:
            gen = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
            order = torch.randperm(self.n, generator=gen).tolist()
        else:
            order = list(range(self.n))
        step = self.batch_size
        batches = [order[i:i + step] for i in range(0, self.n, step)]
        if self.drop_last and batches and len(batches[-1]) < step:
            batches.pop()
        usable = len(batches) - len(batches) % self.num_replicas if self.drop_last else None
        return batches[:usable][self.rank::self.num_replicas]

    def __iter__(self) -> Iterator[list[int]]:
        return iter(self._batches())

    def __len__(self) -> int:
        return len(self._batches())


class _WithIds(Dataset[tuple[torch.Tensor, ...]]):
    """``ds``'s ``(images, labels)`` with the batch's dataset indices appended."""

    def __init__(self, ds: ImageSet) -> None:
        self.ds = ds

    def __len__(self) -> int:
        return len(self.ds)

    def __getitem__(self, index: Any) -> tuple[torch.Tensor, ...]:
        return (*self.ds[index], torch.as_tensor(index, dtype=torch.long))


def make_loader(ds: ImageSet, sampler: Sampler[list[int]], num_workers: int = 0,
                pin_memory: bool = False, sample_ids: bool = False) -> DataLoader[Any]:
    """A loader yielding ``(images, labels)`` batches: the sampler's index batches go to the
    dataset whole (one gather for in-memory images; one batch decoded per worker task for
    image files, workers persistent, pinned memory on GPU). The sampler is the loader's
    ``sampler``, where Lightning's ``set_epoch`` reaches it. ``sample_ids`` appends each
    batch's dataset indices: ``(images, labels, ids)``."""
    workers = 0 if isinstance(ds, TensorImages) else num_workers
    return DataLoader(_WithIds(ds) if sample_ids else ds, sampler=sampler, batch_size=None,
                      num_workers=workers,
                      pin_memory=pin_memory, persistent_workers=workers > 0)
