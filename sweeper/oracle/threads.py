"""CPU thread count for small problems.

On a small matrix, torch's intra-op threads cost more in hand-offs than they save, and on
a shared machine they turn a 50 ms L-BFGS fit into seconds (measured: a 560 x 64 probe fit,
1 thread 0.05 s vs 2 busy threads 0.6-2.7 s). Below ``SMALL_PROBLEM_VALUES`` feature
values the oracle runs on one thread.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch

__all__ = ["SMALL_PROBLEM_VALUES", "threads_for"]

SMALL_PROBLEM_VALUES = 1 << 20


@contextmanager
def threads_for(n_values: int, device: torch.device) -> Iterator[None]:
    """Run the block on one CPU thread when the problem is small (and on CPU)."""
    if device.type != "cpu" or n_values >= SMALL_PROBLEM_VALUES:
        yield
        return
    saved = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(saved)
