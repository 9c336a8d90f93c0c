"""One spectrum from the shards of a bank embedded by several processes (DDP).

Each rank streams its own rows into a :class:`~sweeper.metrics.SpectrumAccumulator`;
:func:`all_reduce_spectrum` turns them into the accumulator of all rows together, on every
rank: the float64 Gram matrices ``Z_r^T Z_r`` and column sums are summed (``Z^T Z`` is the sum
over any split of Z's rows), or, while all rows together are no more than K (the N x N form),
the rows themselves are gathered. The spectrum equals the single-process one up to float64
rounding of the sums' order.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.distributed as dist

from sweeper.metrics.accumulator import SpectrumAccumulator
from sweeper.metrics.gram import GramMoments

__all__ = ["all_reduce_spectrum", "broadcast_buffers", "first_failure", "from_rank_zero",
           "rank_and_world"]


def rank_and_world() -> tuple[int, int]:
    """``(rank, world size)`` of the default process group; ``(0, 1)`` outside one."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def all_reduce_spectrum(acc: SpectrumAccumulator, device: torch.device
                        ) -> SpectrumAccumulator:
    """The accumulator of every rank's rows together (a collective: every rank calls it).

    Args:
        acc: this rank's rows (it may hold none: a bank with fewer batches than ranks).
        device: where this rank's collectives run (its accumulator's device, or the
            training device when it holds no rows; NCCL needs the GPU).

    Returns:
        ``acc`` itself outside a process group of two or more; else a new accumulator, the
        same on every rank.
    """
    world = rank_and_world()[1]
    if world == 1:
        return acc
    shape = torch.tensor([acc.n, acc.dim or 0], dtype=torch.int64, device=device)
    sizes = [torch.zeros_like(shape) for _ in range(world)]
    dist.all_gather(sizes, shape)
    counts = [int(s[0]) for s in sizes]
    dims = {int(s[1]) for s in sizes if int(s[0])}
    if len(dims) > 1:
        raise ValueError(f"ranks embedded the bank in different dimensions {sorted(dims)}")
    merged = SpectrumAccumulator()
    if not dims:
        return merged  # no rows anywhere: the metrics say so
    dim, total = dims.pop(), sum(counts)
    if total <= dim:  # every rank still keeps its rows: gather them, in rank order
        rows = (acc.kept_rows() if acc.n else
                torch.zeros(0, dim, dtype=torch.float64, device=device))
        padded = torch.zeros(max(counts), dim, dtype=torch.float64, device=device)
        padded[: acc.n] = rows.to(device)
        gathered = [torch.empty_like(padded) for _ in range(world)]
        dist.all_gather(gathered, padded)
        for n, part in zip(counts, gathered, strict=True):
            merged.update(part[:n])
        return merged
    gram = (acc.gram().to(device) if acc.n else
            torch.zeros(dim, dim, dtype=torch.float64, device=device))
    colsum = (acc.mean().to(device) * acc.n if acc.n else
              torch.zeros(dim, dtype=torch.float64, device=device))
    dist.all_reduce(gram)
    dist.all_reduce(colsum)
    return SpectrumAccumulator.from_moments(total, GramMoments.from_gram(gram, colsum))


def broadcast_buffers(module: torch.nn.Module) -> None:
    """Give every rank rank 0's buffers (BatchNorm statistics, queues), as DDP does before
    each forward: each rank's last training batch left its own running statistics, and the
    ranks must embed their shards with one model, the one rank 0 checkpoints."""
    if rank_and_world()[1] > 1:
        for buffer in module.buffers():
            dist.broadcast(buffer, src=0)


def first_failure(message: str, world: int) -> str:
    """The first rank's failure message ("" for none), on every rank: all stop together."""
    if world == 1:
        return message
    messages: list[Any] = [None] * world
    dist.all_gather_object(messages, message)
    return next((m for m in messages if m), "")


def from_rank_zero(compute: Callable[[], Any]) -> Any:
    """``compute()`` run on rank 0 only, its result (or its error) on every rank."""
    rank, world = rank_and_world()
    if world == 1:
        return compute()
    box: list[Any] = [None]
    error: BaseException | None = None
    if rank == 0:
        try:
            box[0] = ("ok", compute())
        except Exception as exc:  # the other ranks must not wait for a result forever
            error, box[0] = exc, ("error", f"{type(exc).__name__}: {exc}")
    dist.broadcast_object_list(box, src=0)
    kind, value = box[0]
    if error is not None:
        raise error
    if kind == "error":
        raise RuntimeError(f"rank 0 failed: {value}")
    return value
