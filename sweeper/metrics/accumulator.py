"""The one spectral core: float64 second moments streamed from batches of embeddings.

Every label-free metric here is a function of the spectrum of an N x K embedding matrix Z,
either of Z itself (singular values) or of its covariance (eigenvalues). Both follow from the
K x K second moments ``Z^T Z`` and the column sums of Z, which can be accumulated batch by
batch in O(K^2) memory. A float64 Gram matrix keeps every singular value above ~1e-8 of the
largest exact to float64 rounding, far past what RankMe's ``eps = 1e-7`` can see, while the
N x K matrix itself is never copied to float64 and no N x N matrix is made.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import torch
from scipy.linalg import blas

__all__ = ["DEFAULT_BATCH_ROWS", "SpectrumAccumulator", "as_tensor", "iter_row_batches"]

DEFAULT_BATCH_ROWS = 4096

ArrayLike = torch.Tensor | np.ndarray


def as_tensor(z: Any) -> torch.Tensor:
    """Return ``z`` as a torch tensor without copying its data where possible.

    Raises:
        ValueError: if ``z`` is not a numeric array.
    """
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


class SpectrumAccumulator:
    """Streaming float64 second moments of an N x K embedding matrix.

    ``update`` takes row batches (torch or numpy, any real dtype, any device); the Gram
    matrix ``Z^T Z`` and the column sums accumulate in float64 on the device of the first
    batch. The spectra are computed once, on first request, and cached.

    Example:
        >>> acc = SpectrumAccumulator()
        >>> for batch in loader:
        ...     acc.update(batch)
        >>> s = acc.singular_values()  # descending, min(N, K) values
    """

    def __init__(self) -> None:
        self.n = 0
        self.dim: int | None = None
        self._gram: torch.Tensor | None = None
        self._gram_np: np.ndarray | None = None  # CPU path: Fortran-ordered, upper triangle
        self._colsum: torch.Tensor | None = None
        self._cache: dict[str, torch.Tensor] = {}

    def update(self, batch: Any) -> None:
        """Add a batch of rows (shape B x K) to the moments.

        Raises:
            ValueError: on a batch that is not 2-D, has another K, or holds NaN/Inf.
        """
        b = as_tensor(batch)
        if b.ndim != 2:
            check_matrix_shape(tuple(b.shape))
        if b.shape[0] == 0:
            return
        if self.dim is None:
            if b.shape[1] == 0:
                raise ValueError(f"embeddings are empty: batch shape {tuple(b.shape)}")
            self.dim = int(b.shape[1])
        elif b.shape[1] != self.dim:
            raise ValueError(
                f"batch has {b.shape[1]} columns but earlier batches had {self.dim}: "
                "every batch must share the embedding dimension K"
            )
        b64 = b.to(torch.float64)
        bad = int(b64.numel() - torch.isfinite(b64).sum().item())
        if bad:
            raise ValueError(
                f"{bad} of {b64.numel()} embedding values are not finite (NaN or Inf) in rows "
                f"{self.n}..{self.n + b64.shape[0] - 1}; a diverged run has no spectrum"
            )
        self._cache.clear()
        colsum = b64.sum(dim=0)
        if b64.device.type == "cpu":
            self._update_cpu(b64)
        else:
            if self._gram is None:
                self._gram = torch.zeros(self.dim, self.dim, dtype=torch.float64, device=b.device)
            self._gram.addmm_(b64.T, b64)
        self._colsum = colsum if self._colsum is None else self._colsum + colsum.to(
            self._colsum.device
        )
        self.n += int(b64.shape[0])

    def _update_cpu(self, b64: torch.Tensor) -> None:
        # BLAS syrk does half the flops of a general matmul for a symmetric product and is
        # the hot loop of every metric; torch exposes no syrk, scipy does.
        assert self.dim is not None
        if self._gram_np is None:
            self._gram_np = np.zeros((self.dim, self.dim), dtype=np.float64, order="F")
        a = b64.numpy().T  # K x B, Fortran-contiguous view of the C-contiguous batch
        self._gram_np = blas.dsyrk(
            1.0, a, trans=0, c=self._gram_np, beta=1.0, lower=0, overwrite_c=1
        )

    def gram(self) -> torch.Tensor:
        """The K x K float64 matrix ``Z^T Z`` (symmetric, both triangles filled)."""
        self._require_rows()
        if self._gram_np is not None:
            upper = torch.from_numpy(self._gram_np).triu()
            return upper + upper.triu(1).T
        assert self._gram is not None
        return self._gram

    def mean(self) -> torch.Tensor:
        """Column means of Z in float64."""
        self._require_rows()
        assert self._colsum is not None
        return self._colsum / self.n

    def covariance(self) -> torch.Tensor:
        """The K x K sample covariance ``(Z - mean)^T (Z - mean) / (N - 1)`` in float64."""
        mu = self.mean()
        return (self.gram() - self.n * torch.outer(mu, mu)) / (self.n - 1)

    def singular_values(self) -> torch.Tensor:
        """Singular values of Z (uncentered), descending, ``min(N, K)`` of them, float64.

        They are square roots of the Gram matrix's eigenvalues; rounding can push the
        eigenvalues of an exactly rank-deficient Z a hair below zero, so those clip to 0.
        """
        if "sv" not in self._cache:
            eig = _eigvalsh_descending(self.gram())[: min(self.n, self._k())]
            self._cache["sv"] = eig.clamp_min(0.0).sqrt()
        return self._cache["sv"]

    def covariance_eigenvalues(self) -> torch.Tensor:
        """Eigenvalues of the sample covariance ``(Z - mean)^T (Z - mean) / (N - 1)``.

        Descending, ``min(N - 1, K)`` of them (centering removes one degree of freedom),
        clipped at 0, float64.
        """
        if "cov" not in self._cache:
            eig = _eigvalsh_descending(self.covariance())[: min(self.n - 1, self._k())]
            self._cache["cov"] = eig.clamp_min(0.0)
        return self._cache["cov"]

    def _k(self) -> int:
        assert self.dim is not None
        return self.dim

    def _require_rows(self) -> None:
        if self.dim is None or self.n == 0:
            raise ValueError("no embeddings were added: the spectrum of an empty matrix is undefined")
        if self.n < 2:
            raise ValueError(f"embeddings need at least 2 rows (samples) for a spectrum, got N = {self.n}")

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


def _eigvalsh_descending(sym: torch.Tensor) -> torch.Tensor:
    return torch.linalg.eigvalsh(sym).flip(0)
