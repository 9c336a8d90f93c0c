"""``EpochBatchSampler``: one seeded permutation per (seed, epoch), cut into batches, dealt
round-robin to ``num_replicas`` ranks (rank r takes batches r, r + R, ...). With drop_last,
the partial last batch and the ``len % R`` leftover batches are dropped so that every rank
runs the same number of steps; without it, every index is seen exactly once."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from sweeper.ssl.data.images import FolderImages, TensorImages
from sweeper.ssl.data.loader import EpochBatchSampler, make_loader

N, BS = 103, 10  # 10 full batches and a partial one of 3


def _batches(**kwargs: int | bool) -> list[list[int]]:
    return list(EpochBatchSampler(N, BS, **kwargs))  # type: ignore[arg-type]


def _epoch(epoch: int, **kwargs: int | bool) -> list[list[int]]:
    s = EpochBatchSampler(N, BS, **kwargs)  # type: ignore[arg-type]
    s.set_epoch(epoch)
    return list(s)


@pytest.mark.parametrize("replicas", [1, 2, 3, 4])
def test_ranks_split_the_single_process_batches(replicas: int) -> None:
    single = _epoch(5, seed=7)
    assert len(single) == N // BS and all(len(b) == BS for b in single)
    assert len({i for b in single for i in b}) == N // BS * BS
    ranks = [_epoch(5, seed=7, num_replicas=replicas, rank=r) for r in range(replicas)]
    per_rank = (N // BS) // replicas
    assert all(len(batches) == per_rank for batches in ranks)  # same number of steps
    assert [len(EpochBatchSampler(N, BS, num_replicas=replicas, rank=r))
            for r in range(replicas)] == [per_rank] * replicas
    dealt = [ranks[k % replicas][k // replicas] for k in range(per_rank * replicas)]
    assert dealt == single[:per_rank * replicas]  # the leftover batches are the dropped ones
    seen = [i for batches in ranks for b in batches for i in b]
    assert len(seen) == len(set(seen))  # disjoint across ranks


def test_the_order_depends_on_seed_and_epoch_only() -> None:
    assert _epoch(3, seed=1) == _epoch(3, seed=1)
    assert _epoch(3, seed=1) != _epoch(4, seed=1)
    assert _epoch(3, seed=1) != _epoch(3, seed=2)
    assert sorted(map(sorted, _epoch(3, seed=1))) != sorted(map(sorted, _epoch(4, seed=1)))


def test_without_drop_last_every_index_comes_once() -> None:
    assert _batches(shuffle=False, drop_last=False) == [
        list(range(i, min(i + BS, N))) for i in range(0, N, BS)]
    shuffled = _batches(drop_last=False)
    assert sorted(i for b in shuffled for i in b) == list(range(N))
    assert [len(b) for b in shuffled] == [BS] * (N // BS) + [N % BS]


def test_too_small_a_dataset_is_refused() -> None:
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        EpochBatchSampler(N, 0)
    with pytest.raises(ValueError, match="fewer than one batch"):
        EpochBatchSampler(N, 30, num_replicas=4)


def _orders_through_lightning(ds: TensorImages | FolderImages, tmp_path: Path
                              ) -> list[list[int]]:
    """The label order each epoch of a real ``Trainer.fit`` sees (labels = indices)."""
    import lightning as L

    class Record(L.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(1))
            self.seen: list[list[int]] = [[], []]

        def train_dataloader(self) -> object:
            return make_loader(ds, EpochBatchSampler(len(ds), 4, seed=0))

        def training_step(self, batch: list[torch.Tensor], idx: int) -> torch.Tensor:
            self.seen[self.current_epoch] += batch[1].tolist()
            return self.w.sum() * 0

        def configure_optimizers(self) -> torch.optim.Optimizer:
            return torch.optim.SGD(self.parameters(), lr=0.1)

    model = Record()
    L.Trainer(max_epochs=2, accelerator="cpu", logger=False, enable_checkpointing=False,
              enable_progress_bar=False, enable_model_summary=False,
              use_distributed_sampler=False, default_root_dir=str(tmp_path)).fit(model)
    return model.seen


def test_lightning_reshuffles_in_memory_images_each_epoch(tmp_path: Path) -> None:
    ds = TensorImages(torch.zeros(16, 1, 2, 2), torch.arange(16))
    first, second = _orders_through_lightning(ds, tmp_path)
    assert sorted(first) == sorted(second) == list(range(16)) and first != second


def test_lightning_reshuffles_image_files_each_epoch(tmp_path: Path) -> None:
    from PIL import Image

    files = []
    for i in range(16):
        files.append(tmp_path / f"{i:02d}.png")
        Image.new("L", (2, 2), color=i).save(files[-1])
    first, second = _orders_through_lightning(FolderImages(files, list(range(16)), 2, 1),
                                              tmp_path)
    assert sorted(first) == sorted(second) == list(range(16)) and first != second
