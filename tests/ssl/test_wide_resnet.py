"""Our wide ResNets are solo-learn's: the same parameter names and shapes, and the features
solo-learn's own code gave (``solo_learn/wide_resnet28_cifar.json``) for the same seeded
weights and ten CIFAR-10 test images, in eval and train mode, BatchNorm statistics included."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from sweeper.config import compose_config
from sweeper.ssl.backbones import build_backbone
from sweeper.ssl.build import build_model
from tests.services import require_cifar10
from tests.ssl.test_solo_learn_checkpoints import recipe_state

META: dict[str, Any] = json.loads(
    (Path(__file__).resolve().parent / "solo_learn" / "wide_resnet28_cifar.json").read_text())
MEAN = torch.tensor([0.4914, 0.4822, 0.4465]).view(3, 1, 1)
STD = torch.tensor([0.247, 0.243, 0.261]).view(3, 1, 1)


def _images() -> torch.Tensor:
    root = require_cifar10() / "test"
    pixels = [np.asarray(Image.open(root / name).convert("RGB"), dtype=np.float32) / 255
              for name in META["files"]]
    return torch.stack([(torch.from_numpy(p).permute(2, 0, 1) - MEAN) / STD for p in pixels])


@pytest.mark.parametrize("name", ["wide_resnet28w2", "wide_resnet28w8"])
def test_our_wide_resnet_is_solo_learns(name: str) -> None:
    ref = META["nets"][name]
    net, dim = build_backbone(name, 3, 32)
    assert dim == ref["num_features"]
    assert {k: list(v.shape) for k, v in net.state_dict().items()} == ref["state_shapes"]
    state = recipe_state(ref["state_shapes"])
    for key, total in ref["state_sums"].items():
        assert float(state[key].double().sum()) == pytest.approx(total, rel=1e-9, abs=1e-9)
    net.load_state_dict(state, strict=True)  # a solo-learn checkpoint's backbone.* loads as is
    x = _images()
    net.eval()
    with torch.no_grad():
        feats = net(x).double().numpy()
    scale = float(np.abs(ref["eval_features"]).max())
    np.testing.assert_allclose(feats, ref["eval_features"], rtol=1e-5, atol=1e-5 * scale)
    net.train()
    with torch.no_grad():
        feats = net(x).double().numpy()
    np.testing.assert_allclose(feats, ref["train_mode_features"], rtol=1e-5,
                               atol=1e-5 * float(np.abs(ref["train_mode_features"]).max()))
    stats = {k: float(v.double().sum()) for k, v in net.state_dict().items() if "running" in k}
    assert stats == pytest.approx(ref["running_stat_sums_after_one_train_forward"], rel=1e-6)


def test_a_method_builds_on_a_wide_resnet() -> None:
    model = build_model(compose_config(["data=cifar10", "backbone=wide_resnet28w2",
                                        "method=simclr"]))
    with torch.no_grad():
        feats, proj = model.embed(torch.randn(4, 3, 32, 32))
    assert feats.shape == (4, 128) and proj.shape[0] == 4
