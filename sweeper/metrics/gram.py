"""Float64 ``Z^T Z`` and column sums of a tall embedding matrix, summed batch by batch.

The storage behind :class:`~sweeper.metrics.SpectrumAccumulator` once N > K; a merge of
several processes' sums (:func:`~sweeper.metrics.distributed.all_reduce_spectrum`) builds
one from the summed Gram matrix with :meth:`GramMoments.from_gram`.
"""

from __future__ import annotations

import torch

__all__ = ["GRAM_BLOCK_COLUMNS", "GramMoments"]

# Gram matrices are built from column blocks at least this wide (BLAS stays efficient).
GRAM_BLOCK_COLUMNS = 128


class GramMoments:
    """Float64 ``Z^T Z`` (upper triangle) and column sums, on the first batch's device.

    Only the column blocks on and above the diagonal are multiplied (56% of a full
    matmul's flops with 8 blocks), through torch's own BLAS. The CPU path
    deliberately stays in torch: mixing another BLAS (scipy's OpenBLAS syrk) with torch's
    OpenMP pool makes their idle threads spin against each other on few cores, which
    measured 5x slower inside a torch process.

    Each batch's block product is formed on its own, then added (same CPU time): ``addmm_``
    into the running total made BLAS extend one dot product over all N rows, and the zero
    eigenvalues of a rank-10 float32 Z (K = 16) grew from 1.6 eps * trace(G) at N = 3,000
    to 73 at N = 10^6; summed batch by batch they stay under 2 whatever N is.
    """

    def __init__(self, dim: int, device: torch.device) -> None:
        self.upper = torch.zeros(dim, dim, dtype=torch.float64, device=device)
        self.colsum = torch.zeros(dim, dtype=torch.float64, device=device)
        # K / 8 columns a block, at least 128: fastest on 2 cores from K = 512 to 2,048.
        step = max(GRAM_BLOCK_COLUMNS, dim // 8)
        self.blocks = [(a, min(a + step, dim)) for a in range(0, dim, step)]
        self._product = torch.empty(step * dim, dtype=torch.float64, device=device)

    @classmethod
    def from_gram(cls, gram: torch.Tensor, colsum: torch.Tensor) -> GramMoments:
        """The moments of rows known only by their summed K x K ``gram`` (symmetric) and
        ``colsum``, both float64, on the device they are on."""
        moments = cls(int(gram.shape[0]), gram.device)
        moments.upper.copy_(gram)  # symmetric: its upper triangle is what is kept
        moments.colsum.copy_(colsum)
        return moments

    def add(self, b: torch.Tensor, colsum: torch.Tensor) -> None:
        """Add a float64 batch ``b`` (on these moments' device) and its column sums."""
        self.colsum += colsum
        dim = self.upper.shape[1]
        for a, stop in self.blocks:
            product = self._product[: (stop - a) * (dim - a)].view(stop - a, dim - a)
            torch.mm(b[:, a:stop].T, b[:, a:], out=product)
            self.upper[a:stop, a:] += product

    def gram(self) -> torch.Tensor:
        """``Z^T Z`` with both triangles filled."""
        upper = self.upper.triu()
        return upper + upper.triu(1).T
