"""Embeddings stored on disk: .npy, .npz, .pt and .safetensors files, or folders of shards.

Every shard is opened and checked (readable, 2-D, one shared K) before any row is read, so
a bad file fails fast. Rows are then streamed in batches: .npy through a memory-mapped
window per batch (resident memory stays at one batch however large the file), .safetensors
through slices, .pt through torch's memory-mapped weights-only loader. An .npz member is
read whole (zip members cannot be mapped): use .npy for larger-than-memory data.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import safe_open

from sweeper.metrics.accumulator import DEFAULT_BATCH_ROWS, NonFiniteEmbeddings, SpectrumAccumulator

__all__ = [
    "SUPPORTED_SUFFIXES",
    "EmbeddingFileError",
    "EmbeddingShard",
    "accumulate_files",
    "open_embeddings",
]

SUPPORTED_SUFFIXES = (".npy", ".npz", ".pt", ".safetensors")
# Which member of a multi-array file holds the embeddings, in order of preference.
PREFERRED_KEYS = ("features", "embeddings", "z")


class EmbeddingFileError(ValueError):
    """A file that holds no usable N x K embeddings; the message names file and reason."""


@dataclass
class EmbeddingShard:
    """One file of an N x K embedding matrix, opened and checked but not yet read."""

    path: Path
    n: int
    dim: int
    dtype: str
    _rows: Callable[[int, int], Any]

    def batches(self, rows: int = DEFAULT_BATCH_ROWS) -> Iterator[Any]:
        for start in range(0, self.n, rows):
            yield self._rows(start, min(start + rows, self.n))


def open_embeddings(path: str | Path) -> list[EmbeddingShard]:
    """Open a file or a folder of shards and check shapes before anything is read.

    Raises:
        ValueError: for a missing path, an unknown extension, an empty folder, an unreadable
            or corrupt file, a member that is not 2-D, or shards with different K.
    """
    p = Path(path)
    if not p.exists():
        raise EmbeddingFileError(f"no such file or folder: {p}")
    if p.is_dir():
        files = sorted(f for f in p.iterdir() if f.suffix in SUPPORTED_SUFFIXES)
        if not files:
            raise EmbeddingFileError(
                f"folder {p} holds no embedding shards (looked for {', '.join(SUPPORTED_SUFFIXES)})"
            )
    else:
        files = [p]
    shards = [_open_shard(f) for f in files]
    dims = {s.dim for s in shards}
    if len(dims) > 1:
        detail = ", ".join(f"{s.path.name}: K={s.dim}" for s in shards)
        raise EmbeddingFileError(f"shards disagree on the embedding dimension K: {detail}")
    total = sum(s.n for s in shards)
    if total < 2:
        raise EmbeddingFileError(f"{p} holds {total} embedding rows; a spectrum needs at least 2")
    return shards


def accumulate_files(
    shards: list[EmbeddingShard],
    batch_rows: int = DEFAULT_BATCH_ROWS,
    progress: Callable[[int], None] | None = None,
) -> SpectrumAccumulator:
    """Stream every shard's rows into one SpectrumAccumulator; ``progress(rows)`` per batch.

    Raises:
        EmbeddingFileError: naming the file and its first row that holds NaN or Inf.
    """
    acc = SpectrumAccumulator()
    for shard in shards:
        before = acc.n  # rows of the earlier shards
        for batch in shard.batches(batch_rows):
            try:
                acc.update(batch)
            except NonFiniteEmbeddings as err:
                first, rows = err.row - before, int(batch.shape[0])
                raise EmbeddingFileError(
                    f"{shard.path}: row {first} (counted from 0) holds the first NaN or Inf; "
                    f"{err.bad} of {err.total} embedding values in its rows "
                    f"{acc.n - before}..{acc.n - before + rows - 1} are not finite, and a "
                    "diverged run has no spectrum") from None
            if progress is not None:
                progress(int(batch.shape[0]))
    return acc


def _open_shard(path: Path) -> EmbeddingShard:
    opener = _OPENERS.get(path.suffix)
    if opener is None:
        raise EmbeddingFileError(
            f"unknown embedding file type {path.suffix or '(no extension)'!r} for {path}; "
            f"supported: {', '.join(SUPPORTED_SUFFIXES)}"
        )
    try:
        shape, dtype, rows = opener(path)
    except EmbeddingFileError:
        raise
    except Exception as exc:  # every reader has its own corruption errors
        raise EmbeddingFileError(
            f"cannot read {path} as {path.suffix}: {type(exc).__name__}: {exc}"
        ) from exc
    if len(shape) != 2:
        raise EmbeddingFileError(
            f"{path} holds an array of shape {tuple(shape)}; embeddings must be N x K (2-D)"
        )
    return EmbeddingShard(path, int(shape[0]), int(shape[1]), dtype, rows)


def _pick_member(path: Path, members: dict[str, tuple[int, ...]]) -> str:
    if len(members) == 1:
        return next(iter(members))
    for key in PREFERRED_KEYS:
        if key in members:
            return key
    listing = ", ".join(f"{k} {tuple(v)}" for k, v in members.items()) or "nothing"
    raise EmbeddingFileError(
        f"{path} holds several arrays ({listing}); name the embeddings one of "
        f"{', '.join(PREFERRED_KEYS)}"
    )


def _open_npy(path: Path) -> tuple[tuple[int, ...], str, Callable[[int, int], Any]]:
    with path.open("rb") as f:
        version = np.lib.format.read_magic(f)
        fmt = np.lib.format
        read_header = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
        shape, fortran, dtype = read_header(f)
        offset = f.tell()
    if fortran:
        raise EmbeddingFileError(
            f"{path} is stored column-major (Fortran order); save it row-major"
        )
    row_bytes = int(np.prod(shape[1:], dtype=np.int64)) * dtype.itemsize if len(shape) > 1 else 0
    expected = offset + int(shape[0]) * row_bytes if shape else offset
    actual = path.stat().st_size
    if actual < expected:
        raise EmbeddingFileError(
            f"{path} is truncated: {actual} bytes, its header promises {expected}"
        )

    def rows(start: int, stop: int) -> np.ndarray:
        # A fresh mapping per batch, unmapped once the consumer drops it, keeps resident
        # memory at a batch or two; the consumer's own float64 copy is the only copy.
        return np.memmap(
            path,
            dtype=dtype,
            mode="r",
            offset=offset + start * row_bytes,
            shape=(stop - start, *shape[1:]),
        )

    return tuple(shape), str(dtype), rows


def _open_npz(path: Path) -> tuple[tuple[int, ...], str, Callable[[int, int], Any]]:
    with np.load(path, allow_pickle=False) as archive:
        key = _pick_member(path, {k: archive[k].shape for k in archive.files})
        array = archive[key]
    return tuple(array.shape), str(array.dtype), lambda a, b: array[a:b]


def _open_pt(path: Path) -> tuple[tuple[int, ...], str, Callable[[int, int], Any]]:
    obj = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    if isinstance(obj, dict):
        tensors = {k: v for k, v in obj.items() if isinstance(v, torch.Tensor)}
        if not tensors:
            raise EmbeddingFileError(
                f"{path} holds a dict with no tensors (keys: {', '.join(map(str, obj))})"
            )
        obj = tensors[_pick_member(path, {k: tuple(v.shape) for k, v in tensors.items()})]
    if not isinstance(obj, torch.Tensor):
        raise EmbeddingFileError(f"{path} holds a {type(obj).__name__}, not a tensor of embeddings")
    tensor = obj
    return tuple(tensor.shape), str(tensor.dtype).removeprefix("torch."), lambda a, b: tensor[a:b]


def _open_safetensors(path: Path) -> tuple[tuple[int, ...], str, Callable[[int, int], Any]]:
    handle = safe_open(str(path), framework="pt")
    slices = {k: handle.get_slice(k) for k in handle.keys()}
    key = _pick_member(path, {k: tuple(s.get_shape()) for k, s in slices.items()})
    sl = slices[key]

    def rows(start: int, stop: int) -> torch.Tensor:
        return sl[start:stop]

    return tuple(sl.get_shape()), str(sl.get_dtype()), rows


_OPENERS: dict[str, Callable[[Path], tuple[tuple[int, ...], str, Callable[[int, int], Any]]]] = {
    ".npy": _open_npy,
    ".npz": _open_npz,
    ".pt": _open_pt,
    ".safetensors": _open_safetensors,
}
