"""Our checkpoints record which variant of their backbone they hold (methods mocov3 and mae
build their own ViTs), so scoring and resuming rebuild the network that was trained, also
for checkpoints written before the variants existed (they hold timm's plain ViTs)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf
from timm.models.vision_transformer import VisionTransformer

from sweeper.config import ConfigError
from sweeper.ssl import train
from sweeper.ssl.backbones import build_backbone
from sweeper.ssl.backbones.vit_mocov3 import MoCoV3ViT
from sweeper.ssl.build import checked_config
from sweeper.ssl.features import load_backbone
from sweeper.ssl.resume import resume_path
from tests.ssl.conftest import digits_cfg

MOCO = ["method=mocov3", "backbone=vit_tiny", "method_kwargs.pred_hidden_dim=64"]


def test_a_mocov3_run_records_its_vit_and_scores_with_it(tmp_path: Path) -> None:
    cfg = digits_cfg(*MOCO, "max_epochs=1", "data.fraction=0.3", "optimizer.batch_size=64",
                     "monitor.bank_size=64",
                     "monitor.objective_bank_size=64")
    assert train(cfg, tmp_path)["status"] == "completed"
    last = tmp_path / "checkpoints" / "last.ckpt"
    meta = torch.load(last, map_location="cpu", weights_only=False)["rankme_sweeper"]
    assert meta["backbone_method"] == "mocov3"
    # the scoring config names simclr: the checkpoint says which network it holds
    net, _ = load_backbone(last, digits_cfg("method=simclr", "backbone=vit_tiny"))
    assert isinstance(net, MoCoV3ViT)


def _older_checkpoint(path: Path, overrides: list[str]) -> Path:
    """A checkpoint as written before the variants: no ``backbone_method``, timm's ViT."""
    cfg = checked_config(digits_cfg(*overrides, "auto_resume.enabled=true"))
    plain, _ = build_backbone("vit_tiny", int(cfg.data.channels), 8)
    assert type(plain) is VisionTransformer
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"rankme_sweeper": {"config": OmegaConf.to_container(cfg, resolve=True)},
                "state_dict": {f"method.backbone.{k}": v
                               for k, v in plain.state_dict().items()}}, path)
    return path


def test_an_older_mocov3_checkpoint_scores_with_timms_vit(tmp_path: Path) -> None:
    last = _older_checkpoint(tmp_path / "last.ckpt", MOCO)
    net, _ = load_backbone(last, digits_cfg(*MOCO))
    assert type(net) is VisionTransformer  # 3 heads, as it was trained; MoCo v3's has 12


def test_an_older_mocov3_checkpoint_is_not_resumed_into_the_other_vit(tmp_path: Path) -> None:
    last = _older_checkpoint(tmp_path / "last.ckpt", MOCO)
    with pytest.raises(ConfigError, match="timm.*this run builds method mocov3's"):
        resume_path(checked_config(digits_cfg(*MOCO, "auto_resume.enabled=true")), last)
    plain = ["method=simclr", "backbone=vit_tiny"]  # no variant either side: resumed
    last = _older_checkpoint(tmp_path / "simclr" / "last.ckpt", plain)
    cfg = checked_config(digits_cfg(*plain, "auto_resume.enabled=true"))
    assert resume_path(cfg, last) == str(last)
