"""The RankMe monitor: the same numbers as sweeper.metrics on the same bank, a fixed bank,
pruning through on_monitor."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from sweeper.metrics import rankme, spectral_metrics
from sweeper.metrics.idest import idest
from sweeper.metrics.run_record import RunRecord
from sweeper.ssl import train
from sweeper.ssl.build import bank_loader, build_parts
from sweeper.ssl.module import SSLModule
from sweeper.ssl.monitor import LidarViews, RankMeMonitor
from tests.ssl.conftest import digits_cfg


@pytest.mark.parametrize("size", [300, 50])  # K x K streaming, and N x N (N < K)
def test_monitor_rankme_equals_the_metrics_api_on_the_same_bank(size: int) -> None:
    parts = build_parts(digits_cfg())
    module = SSLModule(parts.cfg, parts.method, parts.views, parts.train_set)
    bank = bank_loader(parts.train_set, size, seed=1, batch_size=64)
    before = {k: v.clone() for k, v in parts.method.state_dict().items()}
    metrics = RankMeMonitor(bank, parts.eval_view, every_n_epochs=1, enabled=True).measure(module)
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
    def prune(epoch: int, metrics: dict[str, float]) -> str:
        assert metrics["rankme"] > 1 and "rankme_projector" in metrics
        return "pruned"

    metrics = train(digits_cfg("max_epochs=3", "optimizer.batch_size=512"), tmp_path,
                    on_monitor=prune)
    assert metrics["status"] == "pruned" and metrics["epochs"] == 1
    assert (tmp_path / "checkpoints" / "last.ckpt").is_file()
    assert (tmp_path / "metrics.json").is_file()


def test_every_n_epochs_and_the_last_epoch_are_measured(tmp_path: Path) -> None:
    seen: list[int] = []
    metrics = train(digits_cfg("max_epochs=3", "monitor.every_n_epochs=2",
                               "checkpoint.enabled=false", "optimizer.batch_size=512",
                               "monitor.idest.enabled=true", "monitor.idest.n_images=300"),
                    tmp_path, on_monitor=lambda epoch, m: seen.append(epoch))
    assert seen == [2, 3]
    # IdEst, when enabled, is in each monitor step and in the record
    assert all("idest" in h for h in metrics["history"]) and 1.0 < metrics["idest"] < 64
    assert RunRecord.read(tmp_path).values["idest"] == metrics["idest"]


def test_lidar_is_measured_when_enabled() -> None:
    parts = build_parts(digits_cfg())
    module = SSLModule(parts.cfg, parts.method, parts.views, parts.train_set)
    bank = bank_loader(parts.train_set, 256, seed=0, batch_size=1024)
    monitor = RankMeMonitor(bank, parts.eval_view, every_n_epochs=1, enabled=True,
                            lidar=LidarViews(parts.views, n_images=64, n_augmentations=4,
                                             delta=1e-4))
    value = monitor.measure(module)["lidar"]
    assert 1.0 <= value <= 63.0  # at most n - 1 between-class directions


def test_the_objective_is_measured_once_at_the_end_on_the_large_bank(tmp_path: Path) -> None:
    from sweeper.ssl.features import extract_features

    cfg = digits_cfg("monitor.bank_size=64", "monitor.objective_bank_size=25600")
    metrics = train(cfg, tmp_path)
    assert metrics["monitor_bank_size"] == 64
    assert all(h["bank_size"] == 64 for h in metrics["history"])
    assert metrics["objective_bank_size"] == 1077  # the whole train split, fewer than 25,600
    assert metrics["objective_from"] == "objective bank"
    assert metrics["timings"]["objective_seconds"] > 0
    # the objective is the final model's RankMe over the whole split, not the monitor's
    feats, _ = extract_features(tmp_path / "checkpoints" / "last.ckpt", cfg, ("train",))["train"]
    assert feats.shape[0] == 1077
    assert metrics["rankme"] == pytest.approx(rankme(feats), rel=1e-6)
    assert metrics["rankme"] != pytest.approx(metrics["history"][-1]["rankme"], rel=1e-6)


def test_a_pruned_run_has_no_objective_measurement(tmp_path: Path) -> None:
    def prune(epoch: int, metrics: dict[str, float]) -> str:
        return "pruned"

    metrics = train(digits_cfg("max_epochs=3", "monitor.bank_size=64"), tmp_path,
                    on_monitor=prune)
    assert metrics["status"] == "pruned"
    assert metrics["objective_from"] == "last monitor step"
    assert metrics["objective_bank_size"] == metrics["monitor_bank_size"] == 64
    assert metrics["rankme"] == metrics["history"][-1]["rankme"]
    assert metrics["timings"]["objective_seconds"] == 0


def test_on_monitor_returns_none_or_a_status(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="on_monitor returns None or a status such as 'pruned', "
                                        "got True"):
        train(digits_cfg("max_epochs=1", "optimizer.batch_size=512", "checkpoint.enabled=false"),
              tmp_path, on_monitor=lambda epoch, m: True)  # type: ignore[arg-type,return-value]


def test_non_finite_embeddings_end_the_run_as_diverged_even_with_a_finite_loss() -> None:
    # A step can leave NaN weights (or blown-up BatchNorm statistics) after a finite loss: the
    # monitor sees the NaN embeddings before the next loss does, and the run is diverged, not
    # crashed with a metrics error.
    import lightning as L

    from sweeper.ssl.module import Diverged

    parts = build_parts(digits_cfg("max_epochs=2"))
    module = SSLModule(parts.cfg, parts.method, parts.views, parts.train_set)

    class PoisonWeights(L.Callback):
        def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
            with torch.no_grad():
                next(parts.method.backbone.parameters()).fill_(float("nan"))

    monitor = RankMeMonitor(bank_loader(parts.train_set, 128, seed=0, batch_size=64),
                            parts.eval_view, every_n_epochs=1, enabled=True)
    trainer = L.Trainer(max_epochs=2, accelerator="cpu", callbacks=[PoisonWeights(), monitor],
                        logger=False, enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False)
    with pytest.raises(Diverged, match=r"monitor: .* not finite .* at epoch 1, step \d+") as exc:
        trainer.fit(module)
    assert exc.value.reason is not None and exc.value.epoch == 1  # counted from 1
    assert monitor.history == []


def test_idest_is_measured_when_enabled_on_the_banks_first_images() -> None:
    parts = build_parts(digits_cfg())
    module = SSLModule(parts.cfg, parts.method, parts.views, parts.train_set)
    bank = bank_loader(parts.train_set, 256, seed=0, batch_size=100)
    monitor = RankMeMonitor(bank, parts.eval_view, every_n_epochs=1, enabled=True,
                            idest_images=150, idest_seed=3)
    value = monitor.measure(module)["idest"]
    parts.method.eval()
    with torch.no_grad():
        feats = torch.cat([parts.method(parts.eval_view(x)) for x, _ in bank])[:150]
    assert value == pytest.approx(idest(feats, seed=3), rel=1e-9)
    assert "idest" not in RankMeMonitor(bank, parts.eval_view, every_n_epochs=1,
                                        enabled=True).measure(module)
    with pytest.raises(ValueError, match="monitor.idest.n_images must be >= 50, got 10"):
        RankMeMonitor(bank, parts.eval_view, every_n_epochs=1, enabled=True, idest_images=10)
