"""The spectrum of a short, wide bank (N < K) from its N x N Gram matrix.

RankMe and its peers need the singular values of Z (N x K) and the eigenvalues of its
covariance. :class:`~sweeper.metrics.SpectrumAccumulator` gets both from the K x K matrix
``Z^T Z``; when the bank has fewer rows than the embedding has columns (digits: 512 images,
a 2,048-d VICReg projector) the N x N matrices ``Z Z^T`` and ``Zc Zc^T`` (Zc: Z with its
column means removed) have the same non-zero eigenvalues and cost (N/K)^3 of the solve.
Keeping Z costs N x K values, less than the K x K Gram the streaming path holds.
"""

from __future__ import annotations

from typing import Any

import torch

from sweeper.metrics import SpectrumAccumulator

__all__ = ["RowGramSpectrum", "spectrum_for"]


class RowGramSpectrum(SpectrumAccumulator):
    """A :class:`SpectrumAccumulator` that keeps the rows and solves the N x N problem.

    Same interface and same values (to float64 rounding): ``singular_values()`` gives the
    ``min(N, K)`` singular values of Z, ``covariance_eigenvalues()`` the ``min(N - 1, K)``
    eigenvalues of ``Zc^T Zc / (N - 1)``, so :func:`sweeper.metrics.spectral_metrics`
    accepts it unchanged.
    """

    def __init__(self) -> None:
        super().__init__()
        self._rows: list[torch.Tensor] = []

    def update(self, batch: Any) -> None:
        b = torch.as_tensor(batch)
        if b.ndim == 2 and b.shape[0]:
            bad = int(b.numel() - torch.isfinite(b).sum().item())
            if bad:
                raise ValueError(f"{bad} embedding values are not finite (NaN or Inf); a "
                                 "diverged run has no spectrum")
            if self.dim is None:
                self.dim = int(b.shape[1])
            self._rows.append(b.detach().to(torch.float64))
            self.n += int(b.shape[0])
            self._cache.clear()
        else:
            super().update(batch)  # raises the shape errors

    def _matrix(self) -> torch.Tensor:
        self._require_rows()
        return torch.cat(self._rows)

    def singular_values(self) -> torch.Tensor:
        if "sv" not in self._cache:
            z = self._matrix()
            eig = torch.linalg.eigvalsh(z @ z.T).flip(0)[: min(self.n, self._k())]
            self._cache["sv"] = eig.clamp_min(0.0).sqrt()
        return self._cache["sv"]

    def covariance_eigenvalues(self) -> torch.Tensor:
        if "cov" not in self._cache:
            z = self._matrix()
            zc = z - z.mean(dim=0, keepdim=True)
            eig = torch.linalg.eigvalsh(zc @ zc.T / (self.n - 1)).flip(0)
            self._cache["cov"] = eig[: min(self.n - 1, self._k())].clamp_min(0.0)
        return self._cache["cov"]

    def gram(self) -> torch.Tensor:
        z = self._matrix()
        return z.T @ z

    def mean(self) -> torch.Tensor:
        return self._matrix().mean(dim=0)


def spectrum_for(rows: int, dim: int) -> SpectrumAccumulator:
    """The cheaper accumulator for an N x K matrix: N x N when N < K, else K x K."""
    return RowGramSpectrum() if rows < dim else SpectrumAccumulator()
