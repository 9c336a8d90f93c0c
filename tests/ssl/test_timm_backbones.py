"""Our ConvNeXts, Swin transformers, ViT-Base/Large and PoolFormers are solo-learn's.

``solo_learn/timm_backbones_cifar.json`` holds what solo-learn's own code built at 32 px:
for the smallest member of each family the parameter names and shapes and the features of
four seeded inputs on seeded weights (``timm_backbones_features.npz``); for the larger
members their names and shapes (as a digest) and parameter counts, built on the meta device.
"""

from __future__ import annotations

import doctest
import hashlib
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from sweeper.config import compose_config
from sweeper.ssl.backbones import BACKBONES, build_backbone, poolformer
from sweeper.ssl.build import build_model
from tests.ssl.test_solo_learn_checkpoints import recipe_state

HERE = Path(__file__).resolve().parent / "solo_learn"
META: dict[str, Any] = json.loads((HERE / "timm_backbones_cifar.json").read_text())
FEATURES = np.load(HERE / "timm_backbones_features.npz")
SMALLEST = ["convnext_tiny", "swin_tiny", "vit_base", "poolformer_s12"]
LARGER = sorted(set(META["nets"]) - set(SMALLEST))


def _shapes(net: torch.nn.Module) -> dict[str, list[int]]:
    return {k: list(v.shape) for k, v in net.state_dict().items()}


def _digest(shapes: dict[str, list[int]]) -> str:
    text = json.dumps(sorted([k, v] for k, v in shapes.items()), separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def test_doctests() -> None:
    assert doctest.testmod(poolformer).failed == 0


def test_every_solo_learn_backbone_is_known() -> None:
    assert set(META["nets"]) <= set(BACKBONES)
    assert len(META["nets"]) == 15


@pytest.mark.parametrize("name", SMALLEST)
def test_the_smallest_member_gives_solo_learns_features(name: str) -> None:
    ref = META["nets"][name]
    net, dim = build_backbone(name, 3, 32, ref["kwargs"])
    assert dim == ref["num_features"]
    shapes = _shapes(net)
    assert shapes == ref["state_shapes"]
    assert sum(p.numel() for p in net.parameters()) == ref["num_params"]
    state = recipe_state(shapes)
    total = math.fsum(float(v.double().sum()) for v in state.values())
    assert total == pytest.approx(ref["recipe_sum"], rel=1e-9, abs=1e-9)
    net.load_state_dict(state, strict=True)  # a solo-learn checkpoint's backbone.* loads
    net.eval()
    x = torch.randn(4, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        feats = net(x).double().numpy()
    np.testing.assert_allclose(feats, FEATURES[name], rtol=1e-5,
                               atol=1e-5 * ref["feature_abs_max"])


@pytest.mark.parametrize("name", LARGER)
def test_a_larger_member_has_solo_learns_parameters(name: str) -> None:
    ref = META["nets"][name]
    with torch.device("meta"):
        net, dim = build_backbone(name, 3, 32, ref["kwargs"])
    shapes = _shapes(net)
    assert dim == ref["num_features"] and len(shapes) == ref["num_state_keys"]
    assert sum(p.numel() for p in net.parameters()) == ref["num_params"]
    assert _digest(shapes) == ref["shapes_sha256"]


@pytest.mark.parametrize(("name", "kwargs", "message"), [
    ("swin_tiny", {"img_size": 224}, "img_size is 224 but the crop size is 32"),
    ("swin_tiny", {"patch_size": 2}, "patch_size is not allowed"),
    ("convnext_tiny", {"depth": 3}, "not accepted by timm's ConvNeXt"),
    ("vit_base", {"window_size": 4}, "not accepted by timm's VisionTransformer"),
    ("poolformer_s12", {"fork_feat": True}, "unknown backbone.kwargs ['fork_feat']"),
])
def test_bad_kwargs_are_named(name: str, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError) as err:
        build_backbone(name, 3, 32, kwargs)
    assert message in str(err.value)


def test_solo_learns_kwargs_reach_the_net() -> None:
    with torch.device("meta"):
        net, _ = build_backbone("poolformer_s12", 3, 32, {"drop_path_rate": 0.1,
                                                          "pool_size": 5})
        swin, _ = build_backbone("swin_tiny", 3, 64, {"window_size": 4})
    blocks: list[Any] = [m for m in net.modules() if type(m).__name__ == "_Block"]
    assert [round(b.drop_path.p, 6) for b in blocks] == [round(0.1 * i / 11, 6)
                                                         for i in range(12)]
    assert blocks[0].token_mixer.pool.kernel_size == 5
    layers: Any = swin.layers
    assert layers[0].blocks[0].window_size == (4, 4)


def test_a_method_builds_on_it() -> None:
    backbone = "poolformer_s12"
    model = build_model(compose_config(["data=cifar10", f"backbone={backbone}",
                                        "method=simclr"]))
    with torch.no_grad():
        feats, proj = model.embed(torch.randn(2, 3, 32, 32))
    assert feats.shape == (2, META["nets"][backbone]["num_features"]) and proj.shape[0] == 2
