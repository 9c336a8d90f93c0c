"""Loss values and head architectures against numbers computed by solo-learn itself.

``solo_learn/losses.json`` and ``solo_learn/heads.json`` were made once by running
solo-learn's own loss functions and method classes (the commit is in each file) on the
fixed inputs described there; nothing of solo-learn is imported here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

from sweeper.ssl.backbones import build_backbone
from sweeper.ssl.methods import METHODS, build_method

HERE = Path(__file__).resolve().parent / "solo_learn"
LOSSES: dict[str, Any] = json.loads((HERE / "losses.json").read_text())["values"]
HEADS: dict[str, Any] = json.loads((HERE / "heads.json").read_text())["methods"]
N, D = 32, 16
REL = 1e-5


def fixed(seed: int, *shape: int) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


z = [fixed(i, N, D) for i in range(4)]
p = [fixed(10 + i, N, D) for i in range(4)]
k = [fixed(20 + i, N, D) for i in range(4)]


def method(name: str, **kwargs: Any) -> Any:
    return build_method(name, nn.Identity(), D, kwargs)


def close(ours: torch.Tensor, key: str) -> None:
    assert float(ours) == pytest.approx(LOSSES[key]["value"], rel=REL), LOSSES[key]["call"]


def test_vicreg_sums_the_two_variance_terms_as_solo_learn_does() -> None:
    m = method("vicreg", proj_hidden_dim=8, proj_output_dim=8, sim_loss_weight=25.0,
               var_loss_weight=25.0, cov_loss_weight=1.0)
    close(m.objective(z[0], z[1]), "vicreg_25_25_1")
    m = method("vicreg", proj_hidden_dim=8, proj_output_dim=8, sim_loss_weight=1.0,
               var_loss_weight=3.0, cov_loss_weight=0.5)
    close(m.objective(z[0], z[1]), "vicreg_1_3_0.5")


def test_barlow_twins() -> None:
    m = method("barlow_twins", proj_hidden_dim=8, proj_output_dim=8, lamb=0.0051,
               scale_loss=0.1)
    close(m.objective(z[0], z[1]), "barlow_0.0051_0.1")


@pytest.mark.parametrize("views", [2, 3])
def test_simclr_over_two_and_three_views(views: int) -> None:
    m = method("simclr", proj_hidden_dim=8, proj_output_dim=8, temperature=0.2)
    close(m.objective(z[:views]), f"simclr_{views}views_T0.2")


@pytest.mark.parametrize("views", [2, 3])
def test_byol_sums_every_view_against_both_targets(views: int) -> None:
    m = method("byol", proj_hidden_dim=8, proj_output_dim=8, pred_hidden_dim=8)
    close(m.objective(p[:views], k[:2]), f"byol_{views}views")


def test_simsiam() -> None:
    m = method("simsiam", proj_hidden_dim=8, proj_output_dim=8, pred_hidden_dim=8)
    close(m.objective(p[:2], z[:2]), "simsiam")


def test_mocov3() -> None:
    m = method("mocov3", proj_hidden_dim=8, proj_output_dim=8, pred_hidden_dim=8,
               temperature=0.2)
    close(m.objective(p[:2], k[:2]), "mocov3_T0.2")


def test_dino_with_its_temperature_warmup_and_moving_centre() -> None:
    m = method("dino", proj_hidden_dim=8, proj_output_dim=8, num_prototypes=64,
               norm_last_layer=True, use_bn_in_head=False, clip_grad=0.0,
               freeze_last_layer=1, student_temperature=0.1, teacher_temperature=0.07,
               warmup_teacher_temperature=0.04, warmup_teacher_temperature_epochs=3)
    students = [fixed(30 + i, N, 64) for i in range(2)]
    teachers = [fixed(40 + i, N, 64) for i in range(2)]
    got = [float(m.objective(students, teachers, epoch)) for epoch in (0, 1, 5)]
    assert got == pytest.approx(LOSSES["dino"]["values"], rel=REL)


# ---- heads: layer by layer as solo-learn builds them for its CIFAR yamls ----

SOLO_NAMES = {"barlow": "barlow_twins"}
OURS = {"momentum_projector": "projector_momentum", "head": "projector",
        "momentum_head": "projector_momentum"}


def _layers(module: nn.Module) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for m in module.modules():
        if isinstance(m, nn.Linear):
            out.append({"type": "Linear", "in_features": m.in_features,
                        "out_features": m.out_features, "bias": m.bias is not None})
        elif isinstance(m, nn.BatchNorm1d):
            out.append({"type": "BatchNorm1d", "num_features": m.num_features,
                        "affine": m.affine, "eps": m.eps, "momentum": m.momentum})
        elif isinstance(m, (nn.ReLU, nn.GELU)) or type(m).__name__ == "IterNorm":
            out.append({"type": type(m).__name__})
    return out


def _trainable(module: nn.Module) -> int:
    return sum(q.numel() for q in module.parameters() if q.requires_grad)


def _cifar_kwargs(name: str) -> dict[str, Any]:
    from sweeper.config import compose_config

    cfg = compose_config([f"method={name}"])
    from omegaconf import OmegaConf

    return OmegaConf.to_container(cfg.method_kwargs)  # type: ignore[return-value]


@pytest.mark.parametrize("solo", sorted(n for n in HEADS if SOLO_NAMES.get(n, n) in METHODS))
def test_heads_are_laid_out_as_solo_learns(solo: str) -> None:
    name = SOLO_NAMES.get(solo, solo)
    # solo-learn's CIFAR yamls train a ResNet-18, MAE's a ViT-Small
    backbone, dim = build_backbone("vit_small" if name == "mae" else "resnet18", 3, 32)
    assert dim == HEADS[solo]["features_dim"]
    ours = build_method(name, backbone, dim, _cifar_kwargs(name))
    for module, layers in HEADS[solo]["modules"].items():
        # DINO's loss holds no layers; All4One's position code is a constant, rebuilt here
        # (solo-learn's module holds only its 3 frequencies): tests/ssl/test_all4one.py
        if module in ("dino_loss_func", "pos_enc"):
            continue
        mine = getattr(ours, OURS.get(module, module))
        if isinstance(layers, list):
            assert _layers(mine) == layers, module
        else:  # a module solo-learn does not build as a Sequential: compare tensor shapes
            shapes = list(layers["state"].values())
            assert [list(v.shape) for v in mine.state_dict().values()] == shapes, module
        assert _trainable(mine) == HEADS[solo]["trainable"][module], module


# ---- methods with queues and codes: the same fixed queues solo-learn's steps used ----

def _bank(seed: int) -> torch.Tensor:
    return torch.nn.functional.normalize(fixed(seed, 64, D), dim=1)


def _unit(xs: list[torch.Tensor]) -> list[torch.Tensor]:
    return [torch.nn.functional.normalize(x, dim=-1) for x in xs]


def test_nnclr_nnbyol_nnsiam_look_up_the_same_neighbours() -> None:
    m = method("nnclr", proj_hidden_dim=8, proj_output_dim=D, pred_hidden_dim=8,
               temperature=0.2, queue_size=64)
    m.queue.bank.copy_(_bank(60))
    close(m.objective(_unit(z[:2]), p[:2]), "nnclr_T0.2")
    m = method("nnbyol", proj_hidden_dim=8, proj_output_dim=D, pred_hidden_dim=8,
               queue_size=64)
    m.queue.bank.copy_(_bank(60))
    close(m.objective(p[:2], _unit(k[:2])), "nnbyol")
    m = method("nnsiam", proj_hidden_dim=8, proj_output_dim=D, pred_hidden_dim=8,
               queue_size=64)
    m.queue.bank.copy_(_bank(60))
    close(m.objective(p[:2], _unit(z[:2])), "nnsiam")


def test_the_queue_takes_the_first_views_embeddings() -> None:
    m = method("nnclr", proj_hidden_dim=8, proj_output_dim=D, pred_hidden_dim=8,
               temperature=0.2, queue_size=64)
    m.objective(_unit(z[:2]), p[:2])
    torch.testing.assert_close(m.queue.bank[:N], _unit(z[:1])[0])
    assert int(m.queue.ptr) == N


def test_mocov2plus_with_a_queue_per_view() -> None:
    m = method("mocov2plus", proj_hidden_dim=8, proj_output_dim=D, temperature=0.2,
               queue_size=64)
    for j, queue in enumerate(m.queues):
        queue.bank.copy_(_bank(61 + j))
    close(m.objective(_unit(p[:2]), _unit(k[:2])), "mocov2plus_T0.2")


def test_ressl() -> None:
    m = method("ressl", proj_hidden_dim=8, proj_output_dim=D, temperature_q=0.1,
               temperature_k=0.04, queue_size=64)
    m.queue.bank.copy_(_bank(60))
    close(m.objective(_unit(p[:1])[0], _unit(k[1:2])[0]), "ressl_0.1_0.04")


def test_swav_codes_and_swapped_prediction() -> None:
    from sweeper.ssl.methods.swav import swav_loss

    m = method("swav", proj_hidden_dim=8, proj_output_dim=D, num_prototypes=48,
               temperature=0.1, queue_size=0, epoch_queue_starts=0,
               freeze_prototypes_epochs=1, sk_iters=3, sk_epsilon=0.05)
    preds = [fixed(70 + i, N, 48) * 0.2 for i in range(3)]
    close(swav_loss(preds, m.codes(preds[:2], epoch=0), 0.1), "swav_T0.1")
