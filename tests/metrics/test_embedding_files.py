"""Embedding files: every format, folders of shards, streaming, and corrupt input."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.numpy import save_file

from sweeper.metrics import rankme
from sweeper.metrics.embedding_files import accumulate_files, open_embeddings
from tests.metrics import reference as ref


@pytest.fixture(scope="module")
def z() -> np.ndarray:
    rng = np.random.default_rng(20)
    return (rng.standard_normal((900, 8)) @ rng.standard_normal((8, 40))).astype(np.float32)


def _write(path: Path, z: np.ndarray) -> Path:
    if path.suffix == ".npy":
        np.save(path, z)
    elif path.suffix == ".npz":
        np.savez(path, features=z, labels=np.arange(len(z)))
    elif path.suffix == ".pt":
        torch.save({"embeddings": torch.from_numpy(z)}, path)
    elif path.suffix == ".safetensors":
        save_file({"z": z}, str(path))
    return path


@pytest.mark.parametrize("suffix", [".npy", ".npz", ".pt", ".safetensors"])
def test_every_format_scores_like_the_in_memory_matrix(
    tmp_path: Path, z: np.ndarray, suffix: str
) -> None:
    shards = open_embeddings(_write(tmp_path / f"emb{suffix}", z))
    acc = accumulate_files(shards, batch_rows=128)
    assert (acc.n, acc.dim) == z.shape
    assert rankme(acc) == pytest.approx(ref.rankme(z), rel=1e-6)


def test_folder_of_mixed_shards_streams_all_rows(tmp_path: Path, z: np.ndarray) -> None:
    _write(tmp_path / "a.npy", z[:300])
    _write(tmp_path / "b.safetensors", z[300:650])
    _write(tmp_path / "c.pt", z[650:])
    (tmp_path / "notes.txt").write_text("ignored")
    shards = open_embeddings(tmp_path)
    assert [s.path.name for s in shards] == ["a.npy", "b.safetensors", "c.pt"]
    seen: list[int] = []
    acc = accumulate_files(shards, batch_rows=100, progress=seen.append)
    assert sum(seen) == len(z) == acc.n
    assert rankme(acc) == pytest.approx(ref.rankme(z), rel=1e-6)


def test_shards_with_different_k_are_refused_before_reading(tmp_path: Path) -> None:
    np.save(tmp_path / "a.npy", np.ones((5, 4), dtype=np.float32))
    np.save(tmp_path / "b.npy", np.ones((5, 6), dtype=np.float32))
    with pytest.raises(ValueError, match="a.npy: K=4, b.npy: K=6"):
        open_embeddings(tmp_path)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("emb.csv", b"1,2\n3,4\n", "unknown embedding file type '.csv'"),
        ("emb.npy", b"this is not numpy", "cannot read .*emb.npy"),
        ("emb.pt", b"\x00garbage", "cannot read .*emb.pt"),
        ("emb.safetensors", b"\x08\x00\x00\x00\x00\x00\x00\x00{bad json", "cannot read"),
        ("emb.npz", b"PK\x03\x04 broken zip", "cannot read"),
    ],
)
def test_unknown_or_corrupt_files(tmp_path: Path, name: str, content: bytes, message: str) -> None:
    (tmp_path / name).write_bytes(content)
    with pytest.raises(ValueError, match=message):
        open_embeddings(tmp_path / name)


def test_truncated_npy_is_detected_before_reading(tmp_path: Path, z: np.ndarray) -> None:
    path = _write(tmp_path / "emb.npy", z)
    path.write_bytes(path.read_bytes()[:-1000])
    with pytest.raises(ValueError, match="truncated"):
        open_embeddings(path)


def test_wrong_shape_and_ambiguous_members(tmp_path: Path) -> None:
    np.save(tmp_path / "flat.npy", np.ones(10, dtype=np.float32))
    with pytest.raises(ValueError, match=r"shape \(10,\); embeddings must be N x K"):
        open_embeddings(tmp_path / "flat.npy")
    np.savez(tmp_path / "two.npz", a=np.ones((3, 2)), b=np.ones((3, 2)))
    with pytest.raises(ValueError, match="several arrays .*features, embeddings, z"):
        open_embeddings(tmp_path / "two.npz")
    with pytest.raises(ValueError, match="no such file"):
        open_embeddings(tmp_path / "missing.npy")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="holds no embedding shards"):
        open_embeddings(empty)


class _Payload:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (print, ("this would run at load time",))


def test_pickled_code_in_a_pt_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "evil.pt"
    with path.open("wb") as f:
        pickle.dump({"z": _Payload()}, f)
    with pytest.raises(ValueError, match="cannot read .*evil.pt"):
        open_embeddings(path)


def test_a_nan_in_a_later_shard_names_that_shard_and_its_own_row(tmp_path: Path) -> None:
    np.save(tmp_path / "a.npy", np.ones((10, 4), dtype=np.float32))
    b = np.ones((10, 4), dtype=np.float32)
    b[7, 2] = np.nan
    np.save(tmp_path / "b.npy", b)
    # batches of 4 rows: the NaN is in b.npy's second batch (its rows 4..7)
    with pytest.raises(ValueError, match=r"b\.npy: row 7 \(counted from 0\) holds the first "
                                         r"NaN or Inf; 1 of 16 embedding values in its rows "
                                         r"4\.\.7"):
        accumulate_files(open_embeddings(tmp_path), batch_rows=4)
