"""With method mocov3 our ViTs are solo-learn's MoCo v3 ViTs; other methods keep timm's.

``solo_learn/vit_mocov3_cifar.json`` holds what solo-learn's own code built for
``method: mocov3`` at 32 px with 4-pixel patches: for vit_tiny its fixed position embedding
(``vit_mocov3_cifar.npz``), names and shapes (as a digest), and the features of four seeded
inputs on seeded weights; for the larger members their digests, counts and head numbers.
"""

from __future__ import annotations

import doctest
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from timm.models.vision_transformer import VisionTransformer

from sweeper.config import compose_config
from sweeper.ssl.backbones import build_backbone, vit_mocov3
from sweeper.ssl.backbones.vit_mocov3 import MoCoV3ViT
from sweeper.ssl.build import build_model
from sweeper.ssl.features import load_backbone
from sweeper.ssl.optim import build_optimizer
from tests.ssl.test_solo_learn_checkpoints import recipe_state, write_solo_checkpoint
from tests.ssl.test_timm_backbones import _digest, _shapes

HERE = Path(__file__).resolve().parent / "solo_learn"
META: dict[str, Any] = json.loads((HERE / "vit_mocov3_cifar.json").read_text())
ARRAYS = np.load(HERE / "vit_mocov3_cifar.npz")
TINY = META["nets"]["vit_tiny"]


def _tiny() -> Any:
    return build_backbone("vit_tiny", 3, 32, TINY["kwargs"], method="mocov3")[0]


def _inputs() -> torch.Tensor:
    return torch.randn(4, 3, 32, 32, generator=torch.Generator().manual_seed(0))


def test_doctests() -> None:
    assert doctest.testmod(vit_mocov3).failed == 0


def assert_fixed_code(net: Any, cls: type, tiny: dict[str, Any], code: np.ndarray) -> None:
    """``net`` is a ``cls`` whose position embedding is the fixture's ``code``, untrained."""
    pos = net.pos_embed
    assert isinstance(net, cls) and not pos.requires_grad
    assert list(pos.shape) == tiny["pos_embed_shape"]
    np.testing.assert_allclose(pos[0].numpy(), code, rtol=0, atol=1e-6)
    assert math.fsum(pos.double().flatten().tolist()) == pytest.approx(tiny["pos_embed_sum"],
                                                                       rel=1e-9)
    assert [n for n, p in net.named_parameters() if not p.requires_grad] == \
        tiny["frozen_params"]


def test_the_position_embedding_is_solo_learns_and_fixed() -> None:
    assert_fixed_code(_tiny(), MoCoV3ViT, TINY, ARRAYS["pos_embed"])


def test_solo_learns_weights_give_solo_learns_features() -> None:
    net = _tiny()
    shapes = _shapes(net)
    assert _digest(shapes) == TINY["shapes_sha256"] and len(shapes) == TINY["num_state_keys"]
    state = recipe_state(shapes)
    state["pos_embed"] = net.state_dict()["pos_embed"]  # a checkpoint holds the fixed code
    total = math.fsum(float(v.double().sum()) for v in state.values())
    assert total == pytest.approx(TINY["recipe_sum"], rel=1e-9, abs=1e-9)
    net.load_state_dict(state, strict=True)  # a solo-learn mocov3 checkpoint's backbone.*
    net.eval()
    with torch.no_grad():
        feats = net(_inputs()).double().numpy()
    np.testing.assert_allclose(feats, ARRAYS["features"], rtol=1e-5,
                               atol=1e-5 * TINY["feature_abs_max"])


def assert_solo_sizes(name: str, method: str, cls: type, ref: dict[str, Any]) -> Any:
    """``method``'s ``name`` is a ``cls`` with the fixture's names, shapes, parameter counts,
    heads and LayerNorm eps; returns it (built on the meta device)."""
    with torch.device("meta"):
        net, dim = build_backbone(name, 3, 32, ref["kwargs"], method=method)
    assert isinstance(net, cls) and dim == ref["num_features"]
    assert _digest(_shapes(net)) == ref["shapes_sha256"]
    assert sum(p.numel() for p in net.parameters()) == ref["num_params"]
    assert sum(p.numel() for p in net.parameters() if p.requires_grad) == \
        ref["num_trainable_params"]
    blocks: Any = net.blocks
    assert {int(b.attn.num_heads) for b in blocks} == {ref["num_heads"]}
    assert net.norm.eps == ref["layernorm_eps"]
    return net


@pytest.mark.parametrize("name", sorted(META["nets"]))
def test_every_member_has_solo_learns_sizes(name: str) -> None:
    assert_solo_sizes(name, "mocov3", MoCoV3ViT, META["nets"][name])


def _uniform_within(w: torch.Tensor, bound: float) -> None:
    """``w`` looks like U(-bound, bound): inside the bound, reaching near it, std bound/sqrt 3."""
    assert float(w.abs().max()) <= bound
    assert float(w.abs().max()) > 0.98 * bound
    assert float(w.std()) == pytest.approx(bound / math.sqrt(3), rel=0.03)


def test_the_initialisation_is_mocov3s() -> None:
    torch.manual_seed(0)
    net = _tiny()
    dim = 192
    qkv = net.blocks[0].attn.qkv.weight.detach()
    for part in qkv.split(dim):  # Q, K and V: each its own Xavier bound (timm: N(0, 0.02))
        _uniform_within(part, math.sqrt(6 / (dim + dim)))
    fc1 = net.blocks[0].mlp.fc1.weight.detach()
    _uniform_within(fc1, math.sqrt(6 / (dim + 4 * dim)))
    proj = net.patch_embed.proj
    _uniform_within(proj.weight.detach(), math.sqrt(6 / (3 * 4 * 4 + dim)))
    biases = [m.bias for m in net.modules() if isinstance(m, torch.nn.Linear)]
    assert len(biases) == 48 and all(not b.any() for b in biases)
    assert not proj.bias.any()  # timm leaves the conv's default uniform bias
    assert 0 < float(net.cls_token.detach().std()) < 2e-6


def test_a_vit_only_for_mocov3_and_kwargs_it_fixes_are_refused() -> None:
    with torch.device("meta"):
        plain: Any = build_backbone("vit_tiny", 3, 32, method="simclr")[0]
        resnet, _ = build_backbone("resnet18", 3, 32, method="mocov3")
    assert plain.pos_embed.requires_grad  # timm's learned position embedding
    assert type(plain) is VisionTransformer
    assert type(resnet).__name__ == "ResNet"
    with pytest.raises(ValueError, match=r"vit_tiny: backbone.kwargs \['num_heads'\] are "
                                         r"fixed by solo-learn's MoCo v3 ViT"):
        build_backbone("vit_tiny", 3, 32, {"num_heads": 3}, method="mocov3")


def test_build_model_gives_mocov3_its_vit_and_simclr_timms() -> None:
    base = ["data=cifar10", "backbone=vit_tiny", "method_kwargs.proj_hidden_dim=64"]
    cfg = compose_config([*base, "method=mocov3", "method_kwargs.pred_hidden_dim=64"])
    moco: Any = build_model(cfg)
    assert isinstance(moco.backbone, MoCoV3ViT)
    assert isinstance(moco.backbone_momentum, MoCoV3ViT)
    optimizer = build_optimizer(moco, cfg.optimizer)  # its LARS
    held = {id(p) for group in optimizer.param_groups for p in group["params"]}
    assert id(moco.backbone.pos_embed) not in held
    assert id(moco.backbone.cls_token) in held
    simclr: Any = build_model(compose_config([*base, "method=simclr"]))
    assert type(simclr.backbone) is VisionTransformer


def test_a_solo_learn_mocov3_checkpoint_scores_with_its_vit(tmp_path: Path) -> None:
    args = json.loads((HERE / "simclr_args.json").read_text())
    args["method"] = "mocov3"
    args["backbone"] = {"name": "vit_tiny", "kwargs": TINY["kwargs"]}
    shapes = _shapes(_tiny())
    state = recipe_state(shapes)
    state["pos_embed"] = torch.from_numpy(ARRAYS["pos_embed"])[None]
    ckpt = write_solo_checkpoint(tmp_path, state, args)
    # the config names simclr: the method comes from the args.json, as the backbone does
    net, _ = load_backbone(ckpt, compose_config(["data=cifar10", "method=simclr"]))
    assert isinstance(net, MoCoV3ViT)
    with torch.no_grad():
        feats = net(_inputs()).double().numpy()
    np.testing.assert_allclose(feats, ARRAYS["features"], rtol=1e-5,
                               atol=1e-5 * TINY["feature_abs_max"])
