"""solo-learn's SimCLR CIFAR config, its backbone swapped for a ConvNeXt, a Swin transformer
or a PoolFormer as a solo-learn yaml names them, trains one CPU epoch on real CIFAR-10
images (the overrides are those of test_solo_learn_methods.py)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml

from sweeper.cli import main
from sweeper.ssl.backbones import build_backbone
from tests.ssl.solo_learn_cifar import config
from tests.ssl.test_image_folders import small_cifar10

pytestmark = pytest.mark.slow  # a 28 M-parameter net's epoch on two CPU cores


@pytest.fixture(scope="module")
def cifar(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return small_cifar10(tmp_path_factory.mktemp("data") / "cifar10", {"train": 4})


def _simclr_with(backbone: dict[str, Any], tmp_path: Path) -> list[str]:
    """``train`` on solo-learn's CIFAR SimCLR yaml with ``backbone`` in it."""
    cfg = config("simclr")
    cfg["backbone"] = backbone
    folder = tmp_path / "configs"
    folder.mkdir()
    (folder / "simclr.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    return ["train", "--config-path", str(folder), "--config-name", "simclr"]


@pytest.mark.parametrize("backbone", [
    {"name": "convnext_tiny"},
    # solo-learn's Swin defaults to 224 px: a CIFAR yaml sets img_size (and a window that
    # tiles the 8x8 patch grid)
    {"name": "swin_tiny", "kwargs": {"img_size": 32, "window_size": 4}},
    {"name": "poolformer_s12", "kwargs": {"drop_path_rate": 0.1}},
])
def test_a_solo_learn_yaml_trains_one_epoch_on_it(backbone: dict[str, Any], cifar: Path,
                                                  tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    code = main([
        *_simclr_with(backbone, tmp_path), f"data.train_path={cifar}", "data.val_path=null",
        "data.dataset=cifar10",
        f"+data.cache.dir={tmp_path / 'cache'}", "data.num_workers=0",
        "accelerator=cpu", "devices=1", "strategy=auto", "precision=32",
        "sync_batchnorm=false", "optimizer.batch_size=16",
        "max_epochs=1", "wandb.enabled=false",
        "+monitor.bank_size=32", "+monitor.objective_bank_size=32",
        f"hydra.run.dir={run_dir}",
    ])
    assert code == 0
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["status"] == "completed" and metrics["epochs"] == 1
    assert metrics["global_step"] == 40 // 16
    assert math.isfinite(metrics["rankme"]) and metrics["rankme"] > 1
    state = torch.load(run_dir / "trained_models" / "last.ckpt", map_location="cpu",
                       weights_only=False)["state_dict"]
    net, _ = build_backbone(backbone["name"], 3, 32, backbone.get("kwargs"))
    prefix = "method.backbone."
    assert {k[len(prefix):] for k in state if k.startswith(prefix)} == set(net.state_dict())


def test_a_kwarg_the_backbone_lacks_stops_the_run_naming_it(
        cifar: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    backbone = {"name": "poolformer_s12", "kwargs": {"fork_feat": True}}
    code = main([*_simclr_with(backbone, tmp_path), f"data.train_path={cifar}",
                 "data.val_path=null", "accelerator=cpu", "devices=1", "wandb.enabled=false",
                 f"hydra.run.dir={tmp_path / 'run'}"])
    assert code == 2
    assert "unknown backbone.kwargs ['fork_feat']" in capsys.readouterr().err
    assert not any((tmp_path / "run").rglob("*.ckpt"))
