"""The RankMe monitor: the same numbers as sweeper.metrics on the same bank, a fixed bank,
pruning through on_monitor."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from sweeper.metrics import rankme, spectral_metrics
from sweeper.ssl import StopTraining, train
from sweeper.ssl.build import bank_loader, build_parts
from sweeper.ssl.module import SSLModule
from sweeper.ssl.monitor import RankMeMonitor
from tests.ssl.conftest import digits_cfg


@pytest.mark.parametrize("size", [300, 50])  # K x K streaming, and N x N (N < K)
def test_monitor_rankme_equals_the_metrics_api_on_the_same_bank(size: int) -> None:
    parts = build_parts(digits_cfg())
    module = SSLModule(parts.cfg, parts.method, parts.views, parts.train_set)
    bank = bank_loader(parts.train_set, size, seed=1, batch_size=64)
    before = {k: v.clone() for k, v in parts.method.state_dict().items()}
    metrics = RankMeMonitor(bank, parts.eval_view).measure(module)
    # measuring leaves the model as it was: train mode, BatchNorm statistics untouched
    assert parts.method.training
    after = parts.method.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)

    parts.method.eval()
    with torch.no_grad():
        feats = torch.cat([parts.method(parts.eval_view(x)) for x, _ in bank])
        projs = torch.cat([parts.method.project(parts.method(parts.eval_view(x)))
                           for x, _ in bank])
    assert feats.shape[0] == metrics["bank_size"] == size
    assert metrics["rankme"] == pytest.approx(rankme(feats), rel=1e-9)
    assert metrics["rankme_projector"] == pytest.approx(rankme(projs), rel=1e-9)
    ref = spectral_metrics(projs)
    for key in ("nesum", "stable_rank", "alpha_req"):
        assert metrics[f"{key}_projector"] == pytest.approx(ref[key], rel=1e-9)


def test_the_bank_is_fixed_by_its_seed_and_capped_by_the_data() -> None:
    parts = build_parts(digits_cfg())

    def images(seed: int, size: int) -> torch.Tensor:
        return torch.cat([x for x, _ in bank_loader(parts.train_set, size, seed, 100)])

    assert torch.equal(images(0, 200), images(0, 200))
    assert not torch.equal(images(0, 200), images(1, 200))
    assert images(0, 25_600).shape[0] == len(parts.train_set) == 1077


def test_on_monitor_can_prune_a_run(tmp_path: Path) -> None:
    def prune(epoch: int, metrics: dict[str, float]) -> None:
        assert metrics["rankme"] > 1 and "rankme_projector" in metrics
        raise StopTraining("pruned")

    metrics = train(digits_cfg("max_epochs=3", "optimizer.batch_size=512"), tmp_path,
                    on_monitor=prune)
    assert metrics["status"] == "pruned" and metrics["epochs"] == 1
    assert (tmp_path / "checkpoints" / "last.ckpt").is_file()
    assert (tmp_path / "metrics.json").is_file()


def test_every_n_epochs_and_the_last_epoch_are_measured(tmp_path: Path) -> None:
    seen: list[int] = []
    train(digits_cfg("max_epochs=3", "monitor.every_n_epochs=2", "checkpoint.enabled=false",
                     "optimizer.batch_size=512"),
          tmp_path, on_monitor=lambda epoch, m: seen.append(epoch))
    assert seen == [2, 3]


def test_lidar_is_measured_when_enabled() -> None:
    parts = build_parts(digits_cfg())
    module = SSLModule(parts.cfg, parts.method, parts.views, parts.train_set)
    bank = bank_loader(parts.train_set, 256, seed=0, batch_size=1024)
    monitor = RankMeMonitor(bank, parts.eval_view, lidar_views=parts.views, lidar_images=64,
                            lidar_augmentations=4)
    value = monitor.measure(module)["lidar"]
    assert 1.0 <= value <= 63.0  # at most n - 1 between-class directions
