"""The one spectral core: float64 second moments streamed from batches of embeddings.

Every metric here is a function of the spectrum of an N x K embedding matrix Z (singular
values, or covariance eigenvalues), which follows from ``Z^T Z`` and Z's column sums,
accumulated batch by batch in float64 in O(K^2) memory (no float64 copy of Z, no N x N
matrix). Values under a rounding floor (``ROUNDING_FLOOR_EPS``) read as exact zeros, so an
exactly rank-deficient Z has exactly its rank.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import torch

from sweeper.metrics.gram import GramMoments

__all__ = ["DEFAULT_BATCH_ROWS", "NonFiniteEmbeddings", "SpectrumAccumulator", "as_tensor",
           "iter_row_batches"]


class NonFiniteEmbeddings(ValueError):
    """Embeddings holding NaN or Inf: they have no spectrum (a diverged run makes them).

    ``row`` is the first bad row, counted from the accumulator's first row; ``bad`` and
    ``total`` count the non-finite values of the rejected batch and all its values.
    """

    def __init__(self, message: str, row: int = -1, bad: int = 0, total: int = 0) -> None:
        super().__init__(message)
        self.row, self.bad, self.total = row, bad, total


DEFAULT_BATCH_ROWS = 4096
# Eigenvalues of a Gram matrix G below this many float64 eps times trace(G) are rounding:
# each entry errs by ~eps * sqrt(G_ii G_jj), so ||dG||_2 <~ eps * trace(G) (measured: at most
# 1.8 eps * trace on exact-rank Z, N = 3e3..1e6, K = 16..256); 4 leaves a 2x margin.
ROUNDING_FLOOR_EPS = 4.0

ArrayLike = torch.Tensor | np.ndarray


def as_tensor(z: Any) -> torch.Tensor:
    """``z`` as a torch tensor, without a copy where possible; ValueError if not numeric."""
    if isinstance(z, torch.Tensor):
        t = z
    elif isinstance(z, np.ndarray):
        if z.dtype.kind not in "fiu":
            raise ValueError(f"embeddings must be a numeric array, got dtype {z.dtype}")
        t = torch.from_numpy(np.ascontiguousarray(z)) if z.flags.writeable else torch.tensor(z)
    else:
        raise ValueError(
            f"embeddings must be a torch.Tensor or numpy.ndarray, got {type(z).__name__}"
        )
    if t.is_complex() or t.dtype == torch.bool:
        raise ValueError(f"embeddings must be real numbers, got dtype {t.dtype}")
    return t


def check_matrix_shape(shape: tuple[int, ...], what: str = "embeddings") -> None:
    """Raise ``ValueError`` unless ``shape`` is that of an N x K matrix with N >= 2, K >= 1."""
    if len(shape) == 1:
        raise ValueError(
            f"{what} must be a 2-D N x K matrix, got a 1-D array of shape {tuple(shape)}; "
            "for N scalar embeddings reshape it to (N, 1)"
        )
    if len(shape) != 2:
        raise ValueError(f"{what} must be a 2-D N x K matrix, got shape {tuple(shape)}")
    n, k = shape
    if n == 0 or k == 0:
        raise ValueError(f"{what} are empty: shape {tuple(shape)}")
    if n < 2:
        raise ValueError(f"{what} need at least 2 rows (samples) for a spectrum, got N = {n}")


def iter_row_batches(z: ArrayLike, rows: int = DEFAULT_BATCH_ROWS) -> Iterable[ArrayLike]:
    """Yield consecutive row blocks of ``z`` as views (no copy)."""
    for start in range(0, z.shape[0], rows):
        yield z[start : start + rows]


def _float64_rows(batch: torch.Tensor | np.ndarray, device: torch.device) -> torch.Tensor:
    if isinstance(batch, np.ndarray):
        array = np.asarray(batch, dtype=np.float64)
        # torch cannot wrap a read-only (memory-mapped float64) array without a copy.
        b = torch.from_numpy(array if array.flags.writeable else array.copy())
    else:
        b = batch.detach().to(torch.float64)
    return b.to(device)


class SpectrumAccumulator:
    """Streaming float64 second moments of an N x K embedding matrix.

    ``update`` takes row batches (torch or numpy, any real dtype, any device); the Gram
    matrix ``Z^T Z`` and the column sums accumulate in float64 on the device of the first
    batch. While the matrix is no taller than it is wide (N <= K, e.g. a small monitoring
    bank of a 2,048-d projector) the float64 rows are kept instead, at most K x K values,
    and the spectra come from the N x N matrices ``Z Z^T`` and ``Zc Zc^T``, which have
    the same non-zero eigenvalues for (N/K)^3 of the solve. Spectra are computed once, on
    first request, and cached.

    Example:
        >>> acc = SpectrumAccumulator()
        >>> for batch in loader:
        ...     acc.update(batch)
        >>> s = acc.singular_values()  # descending, min(N, K) values
    """

    def __init__(self) -> None:
        self.n = 0
        self.dim: int | None = None
        self._device: torch.device | None = None
        self._rows: list[torch.Tensor] = []  # while N <= K
        self._moments: GramMoments | None = None  # once N > K
        self._cache: dict[str, torch.Tensor] = {}

    def update(self, batch: Any) -> None:
        """Add a batch of rows (shape B x K).

        A rejected batch leaves what was accumulated as it was.

        Raises:
            ValueError: on a batch that is not 2-D or has another K;
                :class:`NonFiniteEmbeddings` (a ValueError) on one that holds NaN/Inf.
        """
        if not isinstance(batch, np.ndarray):
            batch = as_tensor(batch)
        elif batch.dtype.kind not in "fiu":
            as_tensor(batch)  # raises the dtype error
        if batch.ndim != 2:
            check_matrix_shape(tuple(batch.shape))
        rows, dim = int(batch.shape[0]), int(batch.shape[1])
        if rows == 0:
            return
        if self.dim is None:
            if dim == 0:
                raise ValueError(f"embeddings are empty: batch shape {tuple(batch.shape)}")
            self.dim = dim
            self._device = batch.device if isinstance(batch, torch.Tensor) else torch.device("cpu")
        elif dim != self.dim:
            raise ValueError(
                f"batch has {dim} columns but earlier batches had {self.dim}: "
                "every batch must share the embedding dimension K"
            )
        assert self._device is not None
        b = _float64_rows(batch, self._device)
        colsum = b.sum(dim=0)
        # A NaN or Inf anywhere makes its column's sum non-finite: K checks, not B x K.
        if not bool(torch.isfinite(colsum).all()):
            bad = int(b.numel() - torch.isfinite(b).sum().item())
            if not bad:
                raise ValueError(
                    f"embedding values up to {float(b.abs().max()):.3g} overflow float64 "
                    f"when summed in rows {self.n}..{self.n + rows - 1}; rescale them"
                )
            first = self.n + int(torch.isfinite(b).all(dim=1).logical_not().nonzero()[0])
            raise NonFiniteEmbeddings(
                f"{bad} of {rows * dim} embedding values are not finite (NaN or Inf), the "
                f"first in row {first}; a diverged run has no spectrum",
                row=first, bad=bad, total=rows * dim,
            )
        if self._moments is None and self.n + rows <= dim:
            self._rows.append(b)
        else:
            if self._moments is None:
                self._moments = GramMoments(dim, self._device)
                for kept in self._rows:
                    self._moments.add(kept, kept.sum(dim=0))
                self._rows.clear()
            self._moments.add(b, colsum)
        self._cache.clear()
        self.n += rows

    @classmethod
    def from_moments(cls, n: int, moments: GramMoments) -> SpectrumAccumulator:
        """The accumulator of ``n`` rows known only by their moments (more rows than
        columns), e.g. the sums of several processes' rows; later batches go to the
        moments' device."""
        acc = cls()
        acc.n, acc.dim = n, int(moments.upper.shape[0])
        acc._device, acc._moments = moments.upper.device, moments
        return acc

    def kept_rows(self) -> torch.Tensor:
        """The float64 rows added so far (N x K), while they are kept (N <= K).

        Raises:
            ValueError: once there are more rows than columns (only their moments remain).
        """
        if self._moments is not None:
            raise ValueError(f"{self.n} rows of {self.dim} columns: only their moments are kept")
        if not self._rows:
            return torch.zeros(0, self.dim or 0, dtype=torch.float64, device=self._device)
        return torch.cat(self._rows)

    def gram(self) -> torch.Tensor:
        """The K x K float64 matrix ``Z^T Z`` (symmetric, both triangles filled)."""
        self._require_rows()
        if self._moments is None:
            z = self.kept_rows()
            return z.T @ z
        return self._moments.gram()

    def mean(self) -> torch.Tensor:
        """Column means of Z in float64."""
        self._require_rows()
        if self._moments is None:
            return self.kept_rows().mean(dim=0)
        return self._moments.colsum / self.n

    def covariance(self) -> torch.Tensor:
        """The K x K sample covariance ``(Z - mean)^T (Z - mean) / (N - 1)`` in float64."""
        mu = self.mean()
        return (self.gram() - self.n * torch.outer(mu, mu)) / (self.n - 1)

    def singular_values(self) -> torch.Tensor:
        """Singular values of Z (uncentered), descending, ``min(N, K)`` of them, float64.

        They are square roots of the eigenvalues of ``G = Z^T Z`` (or ``Z Z^T`` when
        N <= K). Eigenvalues below ``ROUNDING_FLOOR_EPS * eps64 * trace(G)`` are rounding,
        not spectrum, and become exact zeros: singular values under ``3e-8 * ||Z||_F``
        read as 0, and an exactly rank-r Z has exactly r non-zero singular values.
        """
        if "sv" not in self._cache:
            self._require_rows()
            if self._moments is None:
                z = self.kept_rows()
                gram = z @ z.T
            else:
                gram = self._moments.gram()
            eig = _eigvalsh_above_rounding(gram, gram.trace())
            self._cache["sv"] = eig[: min(self.n, self._k())].sqrt()
        return self._cache["sv"]

    def covariance_eigenvalues(self) -> torch.Tensor:
        """Eigenvalues of the sample covariance ``(Z - mean)^T (Z - mean) / (N - 1)``.

        Descending, ``min(N - 1, K)`` of them (centering removes one degree of freedom),
        float64, with the rounding floor of :meth:`singular_values`. From the K x K
        moments the covariance is the difference ``G - N mean mean^T``, and both terms
        carry their own rounding, so the floor scales with the sum of their traces.
        """
        if "cov" not in self._cache:
            self._require_rows()
            if self._moments is None:
                z = self.kept_rows()
                zc = z - z.mean(dim=0)
                cov = zc @ zc.T / (self.n - 1)
                eig = _eigvalsh_above_rounding(cov, cov.trace())
            else:
                mu = self.mean()
                scale = (self.gram().trace() + self.n * mu.dot(mu)) / (self.n - 1)
                eig = _eigvalsh_above_rounding(self.covariance(), scale)
            self._cache["cov"] = eig[: min(self.n - 1, self._k())]
        return self._cache["cov"]

    def _k(self) -> int:
        assert self.dim is not None
        return self.dim

    def _require_rows(self) -> None:
        if self.dim is None or self.n == 0:
            raise ValueError(
                "no embeddings were added: the spectrum of an empty matrix is undefined"
            )
        if self.n < 2:
            raise ValueError(
                f"embeddings need at least 2 rows (samples) for a spectrum, got N = {self.n}"
            )

    @classmethod
    def from_matrix(cls, z: Any, batch_rows: int = DEFAULT_BATCH_ROWS) -> SpectrumAccumulator:
        """Accumulate a whole N x K matrix (torch or numpy, in memory or memory-mapped)."""
        if not isinstance(z, torch.Tensor | np.ndarray):
            as_tensor(z)  # raises the type error
        check_matrix_shape(tuple(z.shape))
        acc = cls()
        for batch in iter_row_batches(z, batch_rows):
            acc.update(batch)
        return acc


def _eigvalsh_above_rounding(sym: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """Descending eigenvalues of ``sym``, those under the rounding floor of ``scale`` set to 0.

    ``scale`` is the trace of the matrices ``sym`` was rounded from (see
    ``ROUNDING_FLOOR_EPS``); negative eigenvalues of a PSD matrix are rounding too.
    """
    eig = torch.linalg.eigvalsh(sym).flip(0)
    floor = ROUNDING_FLOOR_EPS * torch.finfo(torch.float64).eps * scale
    return torch.where(eig > floor, eig, torch.zeros_like(eig))
