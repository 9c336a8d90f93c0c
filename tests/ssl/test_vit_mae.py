"""With method mae our ViTs are solo-learn's MAE ViTs; other methods keep theirs.

``solo_learn/vit_mae_cifar.json`` holds what solo-learn's own code built for ``method: mae``
at 32 px with 4-pixel patches: for vit_tiny its fixed position embedding
(``vit_mae_cifar.npz``), names and shapes (as a digest), the features of four seeded inputs on
seeded weights, and ``forward_encoder``'s output for a drawn set of kept patches (with the
indices); for the larger members their digests, counts and head numbers.
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
from sweeper.ssl.backbones import build_backbone, vit_mae, vit_sincos
from sweeper.ssl.backbones.vit_mae import MAEViT
from sweeper.ssl.backbones.vit_mocov3 import MoCoV3ViT
from sweeper.ssl.build import build_model
from sweeper.ssl.features import load_backbone
from sweeper.ssl.methods.mae import MAE
from sweeper.ssl.optim import build_optimizer
from tests.ssl.test_solo_learn_checkpoints import recipe_state, write_solo_checkpoint
from tests.ssl.test_timm_backbones import _digest, _shapes
from tests.ssl.test_vit_mocov3 import _uniform_within, assert_fixed_code, assert_solo_sizes

HERE = Path(__file__).resolve().parent / "solo_learn"
META: dict[str, Any] = json.loads((HERE / "vit_mae_cifar.json").read_text())
ARRAYS = np.load(HERE / "vit_mae_cifar.npz")
TINY = META["nets"]["vit_tiny"]
SMALL_MAE = ["data=cifar10", "backbone=vit_tiny", "method=mae",
             "method_kwargs.decoder_embed_dim=32", "method_kwargs.decoder_depth=1",
             "method_kwargs.decoder_num_heads=4"]


def _tiny() -> Any:
    return build_backbone("vit_tiny", 3, 32, TINY["kwargs"], method="mae")[0]


def _inputs() -> torch.Tensor:
    return torch.randn(4, 3, 32, 32, generator=torch.Generator().manual_seed(0))


def _solo_state(net: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The fixture's seeded weights, with solo-learn's position code (a checkpoint holds it)."""
    state = recipe_state(_shapes(net))
    state["pos_embed"] = torch.from_numpy(ARRAYS["pos_embed"])[None]
    return state


def _assert_solo_features(feats: torch.Tensor) -> None:
    # solo-learn's forward shuffles the patch tokens even at mask_ratio 0: rounding only
    np.testing.assert_allclose(feats.double().numpy(), ARRAYS["features"], rtol=1e-5,
                               atol=1e-5 * TINY["feature_abs_max"])


@pytest.mark.parametrize("module", [vit_sincos, vit_mae])
def test_doctests(module: Any) -> None:
    assert doctest.testmod(module).failed == 0


def test_the_position_embedding_is_solo_learns_and_fixed() -> None:
    net = _tiny()
    pos = net.pos_embed
    assert_fixed_code(net, MAEViT, TINY, ARRAYS["pos_embed"])
    # MoCo v3's code holds the same numbers with the row and column halves the other way
    moco = _tiny_mocov3().pos_embed[0]
    assert float((moco - pos[0]).abs().max()) > 1.0
    np.testing.assert_allclose(moco[:, [*range(96, 192), *range(96)]].numpy(),
                               ARRAYS["pos_embed"], rtol=0, atol=1e-6)


def _tiny_mocov3() -> Any:
    return build_backbone("vit_tiny", 3, 32, TINY["kwargs"], method="mocov3")[0]


def test_solo_learns_weights_give_solo_learns_features() -> None:
    net = _tiny()
    shapes = _shapes(net)
    assert _digest(shapes) == TINY["shapes_sha256"] and len(shapes) == TINY["num_state_keys"]
    state = _solo_state(net)
    total = math.fsum(float(v.double().sum()) for v in state.values())
    assert total == pytest.approx(TINY["recipe_sum"], rel=1e-9, abs=1e-9)
    net.load_state_dict(state, strict=True)  # a solo-learn mae checkpoint's backbone.*
    net.eval()
    with torch.no_grad():
        _assert_solo_features(net(_inputs()))


@pytest.mark.parametrize("name", sorted(META["nets"]))
def test_every_member_has_solo_learns_sizes(name: str) -> None:
    ref = META["nets"][name]
    net = assert_solo_sizes(name, "mae", MAEViT, ref)
    assert all((b.attn.qkv.bias is not None) == ref["qkv_bias"] for b in net.blocks)
    assert net.global_pool == ref["global_pool"]


def test_the_initialisation_is_maes_not_timms() -> None:
    torch.manual_seed(0)
    net, plain = _tiny(), build_backbone("vit_tiny", 3, 32, TINY["kwargs"])[0]
    timm_vit: Any = plain
    dim, patch_fan_in = 192, 3 * 4 * 4
    qkv_bound = math.sqrt(6 / (dim + 3 * dim))  # Xavier over the whole qkv map
    fc1_bound = math.sqrt(6 / (dim + 4 * dim))
    proj_bound = math.sqrt(6 / (patch_fan_in + dim))  # the patch projection as a linear map
    _uniform_within(net.blocks[0].attn.qkv.weight.detach(), qkv_bound)
    _uniform_within(net.blocks[5].mlp.fc1.weight.detach(), fc1_bound)
    _uniform_within(net.patch_embed.proj.weight.detach(), proj_bound)
    assert float(net.cls_token.detach().std()) == pytest.approx(0.02, rel=0.25)
    biases = [m.bias for m in net.modules() if isinstance(m, torch.nn.Linear)]
    assert len(biases) == 48 and all(not b.any() for b in biases)
    norms = [m for m in net.modules() if isinstance(m, torch.nn.LayerNorm)]
    assert len(norms) == 25 and all(bool((m.weight == 1).all() and not m.bias.any())
                                    for m in norms)
    # solo-learn leaves the convolution's own bias, U(+-1/sqrt(fan_in)), where MoCo v3 zeroes
    proj_bias = net.patch_embed.proj.bias.detach()
    assert proj_bias.any() and float(proj_bias.abs().max()) <= 1 / math.sqrt(patch_fan_in)
    # timm's own ViT fails each of these: linear weights N(0, 0.02) (std 0.051 above), a
    # 1e-6 class token, the convolution's default bound 1/sqrt(fan_in) for the patch projection
    with torch.no_grad():
        assert float(timm_vit.blocks[0].attn.qkv.weight.std()) < 0.5 * qkv_bound / math.sqrt(3)
        assert float(timm_vit.cls_token.std()) < 1e-4
        assert float(timm_vit.patch_embed.proj.weight.abs().max()) < 0.95 * proj_bound


def test_a_vit_only_for_mae_and_kwargs_solo_learn_ignores_are_refused() -> None:
    with torch.device("meta"):
        plain: Any = build_backbone("vit_tiny", 3, 32, method="simclr")[0]
        moco = build_backbone("vit_tiny", 3, 32, method="mocov3")[0]
        resnet, _ = build_backbone("resnet18", 3, 32, method="mae")
    assert plain.pos_embed.requires_grad  # timm's learned position embedding
    assert type(plain) is VisionTransformer
    assert type(moco) is MoCoV3ViT
    assert type(resnet).__name__ == "ResNet"
    with pytest.raises(ValueError, match=r"vit_tiny: backbone.kwargs \['num_heads'\] are "
                                         r"fixed by solo-learn's MAE ViT"):
        build_backbone("vit_tiny", 3, 32, {"num_heads": 3}, method="mae")
    with pytest.raises(ValueError, match=r"solo-learn's MAE ViT \(192 wide, 12 blocks, 12 "
                                         r"heads\) takes only img_size, in_chans, patch_size; "
                                         r"got backbone.kwargs \['drop_path_rate'\]"):
        build_backbone("vit_tiny", 3, 32, {"drop_path_rate": 0.1}, method="mae")
    with torch.device("meta"):  # in_chans is solo-learn's too
        gray: Any = build_backbone("vit_tiny", 1, 32, method="mae")[0]
    assert gray.patch_embed.proj.in_channels == 1


def test_lightlys_masked_encoder_on_solo_learns_kept_patches_gives_solo_learns_tokens() -> None:
    """Lightly draws its kept indices its own way: drive it with the indices solo-learn's
    ``random_masking`` drew, class token first, in solo-learn's order."""
    torch.manual_seed(0)
    method = build_model(compose_config(SMALL_MAE))
    assert isinstance(method, MAE) and isinstance(method.backbone, MAEViT)
    method.backbone.load_state_dict(_solo_state(method.backbone), strict=True)
    method.eval()
    ids_keep = torch.from_numpy(ARRAYS["ids_keep"])
    idx_keep = torch.cat([torch.zeros(len(ids_keep), 1, dtype=ids_keep.dtype), ids_keep + 1], 1)
    with torch.no_grad():
        tokens = method.encoder.encode(_inputs(), idx_keep=idx_keep)
        feats, projections = method.embed(_inputs())
    assert list(tokens.shape) == TINY["encoded_shape"]
    np.testing.assert_allclose(tokens.double().numpy(), ARRAYS["encoded"], rtol=1e-5,
                               atol=1e-5 * TINY["encoded_abs_max"])
    _assert_solo_features(feats)  # the evaluation features: solo-learn's forward(imgs)
    assert torch.equal(feats, projections)


def test_build_model_gives_mae_its_vit_and_a_training_step_keeps_the_code_fixed() -> None:
    torch.manual_seed(0)
    cfg = compose_config(SMALL_MAE)
    method: Any = build_model(cfg)
    assert isinstance(method.backbone, MAEViT)
    backbone: Any = method.backbone
    assert not backbone.pos_embed.requires_grad
    # lightly's wrapper leaves the code as built (its own float32 code is 4e-7 off)
    np.testing.assert_array_equal(backbone.pos_embed[0].detach().numpy(), ARRAYS["pos_embed"])
    optimizer = build_optimizer(method, cfg.optimizer)  # its AdamW
    held = {id(p) for group in optimizer.param_groups for p in group["params"]}
    assert id(backbone.pos_embed) not in held and id(backbone.cls_token) in held
    code = backbone.pos_embed.detach().clone()
    qkv = backbone.blocks[0].attn.qkv.weight.detach().clone()
    x = _inputs()
    loss = method.loss([x, x.flip(-1)], 0)
    loss.backward()
    optimizer.step()
    assert torch.isfinite(loss) and backbone.pos_embed.grad is None
    assert torch.equal(backbone.pos_embed, code)
    assert not torch.equal(backbone.blocks[0].attn.qkv.weight, qkv)


def test_a_solo_learn_mae_checkpoint_scores_with_its_vit(tmp_path: Path) -> None:
    args = json.loads((HERE / "simclr_args.json").read_text())
    args["method"] = "mae"
    args["backbone"] = {"name": "vit_tiny", "kwargs": TINY["kwargs"]}
    state = _solo_state(_tiny())
    ckpt = write_solo_checkpoint(tmp_path, state, args)
    # the config names simclr: the method comes from the args.json, as the backbone does
    net, _ = load_backbone(ckpt, compose_config(["data=cifar10", "method=simclr"]))
    assert isinstance(net, MAEViT)
    with torch.no_grad():
        _assert_solo_features(net(_inputs()))
