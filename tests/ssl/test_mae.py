"""MAE against numbers from solo-learn's own code (tests/ssl/solo_learn/mae.json, commit
9187ea3): patchify, the loss given predictions, images and mask, and the decoder of its CIFAR
config; plus the masking and the embedding RankMe reads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from lightly.models import utils

from sweeper.ssl.backbones import build_backbone
from sweeper.ssl.methods import build_method
from sweeper.ssl.methods.mae import MAE, mae_loss

FIXTURE = json.loads((Path(__file__).parent / "solo_learn" / "mae.json").read_text())
CIFAR = {"decoder_embed_dim": 512, "decoder_depth": 8, "decoder_num_heads": 16,
         "mask_ratio": 0.75, "norm_pix_loss": True}  # scripts/pretrain/cifar/mae.yaml


def _t(key: str) -> torch.Tensor:
    return torch.tensor(FIXTURE[key], dtype=torch.float64)


def test_the_fixture_names_the_solo_learn_commit() -> None:
    assert FIXTURE["solo_learn_commit"] == "9187ea3"


def test_patchify_matches_solo_learn() -> None:
    ours = utils.patchify(_t("images"), FIXTURE["patch_size"])
    assert torch.equal(ours, _t("patchify"))


@pytest.mark.parametrize("norm_pix, key", [(True, "loss_norm_pix"), (False, "loss_raw_pix")])
def test_the_loss_matches_solo_learn(norm_pix: bool, key: str) -> None:
    loss = mae_loss(_t("images"), _t("pred"), _t("mask"), FIXTURE["patch_size"], norm_pix)
    assert float(loss) == pytest.approx(FIXTURE[key], rel=1e-5)


def test_the_loss_reads_only_masked_patches() -> None:
    images, pred, mask = _t("images"), _t("pred").clone(), _t("mask")
    before = mae_loss(images, pred, mask, 4, True)
    pred[mask == 0] += 100.0  # visible patches: not part of the loss
    assert float(mae_loss(images, pred, mask, 4, True)) == pytest.approx(float(before))


def _cifar_mae(arch: str = "vit_small", **kwargs: object) -> MAE:
    backbone, dim = build_backbone(arch, 3, 32, {"patch_size": 4, "img_size": 32},
                                   method="mae")
    method = build_method("mae", backbone, dim, {**CIFAR, **kwargs})
    assert isinstance(method, MAE)
    return method


def test_the_cifar_decoder_has_solo_learns_shapes_and_parameter_counts() -> None:
    want = FIXTURE["decoder_cifar"]
    torch.manual_seed(0)
    method = _cifar_mae()
    assert method.feat_dim == want["in_dim"] and method.patch_size == want["patch_size"]
    params = list(method.decoder.parameters())
    assert sum(p.numel() for p in params) == want["n_params"]
    assert sum(p.numel() for p in params if p.requires_grad) == want["n_trainable"]
    pred, mask = method.reconstruct(torch.randn(2, 3, 32, 32))
    assert list(pred.shape) == want["output_shape"]
    # 64 patches, 16 kept (int(64 * 0.25)) beside the class token, as solo-learn keeps
    assert mask.shape == (2, want["num_patches"])
    assert mask.sum(1).tolist() == [64 - (want["kept_tokens_with_cls"] - 1)] * 2


def test_a_training_step_reaches_encoder_and_decoder_and_embeds_unmasked_images() -> None:
    torch.manual_seed(0)
    method = _cifar_mae("vit_tiny", decoder_embed_dim=32, decoder_depth=1, decoder_num_heads=4)
    x = torch.randn(4, 3, 32, 32)
    loss = method.loss([x, x.flip(-1)], 0)
    assert loss.ndim == 0 and torch.isfinite(loss)
    loss.backward()
    assert method.backbone.get_submodule("blocks.0.attn.qkv").weight.grad is not None
    assert method.decoder.decoder_pred.weight.grad is not None
    method.eval()
    f, p = method.embed(x)
    assert f.shape == (4, 192) and torch.equal(f, p)  # no projector: features twice
    assert torch.equal(f, method.backbone(x))


def test_bad_input_is_named() -> None:
    with pytest.raises(ValueError, match=r"mask_ratio must be in \[0, 1\), got 1.0"):
        _cifar_mae("vit_tiny", mask_ratio=1.0)
    backbone, dim = build_backbone("small_cnn", 3, 32)
    with pytest.raises(ValueError, match="mae needs a ViT backbone.*got"):
        build_method("mae", backbone, dim, CIFAR)


def test_the_method_file_carries_solo_learns_cifar_settings() -> None:
    from sweeper.config import compose_config

    cfg = compose_config(["method=mae", "data=cifar10"])
    assert dict(cfg.method_kwargs) == CIFAR
    assert cfg.backbone.name == "vit_small"  # patch 4 at CIFAR's 32 px, as solo-learn
    assert build_backbone("vit_small", 3, 32)[0].patch_embed.patch_size == (4, 4)
    assert cfg.optimizer.name == "adamw" and cfg.optimizer.lr == 2.0e-4
    assert cfg.optimizer.weight_decay == 0.05 and list(cfg.optimizer.kwargs.betas) == [0.9, 0.95]


def test_the_state_dict_holds_the_vit_once_as_backbone_and_loads_back() -> None:
    from itertools import chain

    torch.manual_seed(0)
    method = _cifar_mae("vit_tiny", decoder_embed_dim=32, decoder_depth=1, decoder_num_heads=4)
    state = method.state_dict()
    assert not [k for k in state if k.startswith("encoder.")]
    assert {k.removeprefix("backbone.") for k in state if k.startswith("backbone.")} == set(
        method.backbone.state_dict())
    unique = {id(t): t for t in chain(method.parameters(), method.buffers())}
    assert sum(v.numel() for v in state.values()) == sum(t.numel() for t in unique.values())
    torch.manual_seed(1)
    other = _cifar_mae("vit_tiny", decoder_embed_dim=32, decoder_depth=1, decoder_num_heads=4)
    other.load_state_dict(state)  # strict
    x = torch.randn(2, 3, 32, 32)
    method.eval(), other.eval()
    assert torch.equal(other.embed(x)[0], method.embed(x)[0])
    torch.manual_seed(2)  # the same masks: the encoder reads the loaded backbone
    pred = method.reconstruct(x)[0]
    torch.manual_seed(2)
    assert torch.equal(other.reconstruct(x)[0], pred)


def test_an_older_state_dict_with_the_vit_twice_still_loads() -> None:
    torch.manual_seed(0)
    method = _cifar_mae("vit_tiny", decoder_embed_dim=32, decoder_depth=1, decoder_num_heads=4)
    state = method.state_dict()
    old = {**state, "encoder.mask_token": torch.zeros(1, 1, 192),
           **{f"encoder.vit.{k.removeprefix('backbone.')}": v.clone()
              for k, v in state.items() if k.startswith("backbone.")}}
    torch.manual_seed(1)
    other = _cifar_mae("vit_tiny", decoder_embed_dim=32, decoder_depth=1, decoder_num_heads=4)
    assert other.load_state_dict(old) is not None  # strict: no unexpected keys
    x = torch.randn(2, 3, 32, 32)
    method.eval(), other.eval()
    assert torch.equal(other.embed(x)[0], method.embed(x)[0])
