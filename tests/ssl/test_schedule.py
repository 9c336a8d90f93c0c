"""The learning-rate schedule and the weight-decay groups against their formulas.

warmup_cosine (Goyal et al. 2017 warmup; Loshchilov & Hutter 2017 cosine, as solo-learn
runs it, per optimizer step): with W = steps_per_epoch * warmup_epochs and
T = steps_per_epoch * max_epochs,

    lr(s) = start + (lr - start) * s / (W - 1)                             for s < W
    lr(s) = min_lr + (lr - min_lr) * (1 + cos(pi * (s - W) / (T - W))) / 2  for s >= W

so lr(0) = warmup_start_lr, lr(W - 1) = lr(W) = lr and lr(T) = min_lr; the last step taken
is T - 1. solo-learn's LinearWarmupCosineAnnealingLR computes the same values; the parity test
below holds numbers computed with its own code.
LARS (You et al. 2017): local lr = eta * |w| / (|g| + wd |w|); 1-D parameters (biases,
norm parameters) get neither decay nor scaling under exclude_bias_n_norm (solo-learn's rule,
applied per parameter in the step; LARS keeps one group).
"""

from __future__ import annotations

import math

import pytest
import torch
from omegaconf import OmegaConf
from torch import nn

from sweeper.ssl.optim import build_optimizer, lr_lambda

LR, START, MIN_LR, SPE, WARM_EPOCHS, EPOCHS = 0.4, 3e-5, 1e-3, 7, 2, 10


def _reference(step: int, warm: int, total: int) -> float:
    if step < warm:
        return START + (LR - START) * step / (warm - 1)
    return MIN_LR + (LR - MIN_LR) * (1 + math.cos(math.pi * (step - warm) / (total - warm))) / 2


def _lrs_used(name: str = "warmup_cosine", steps: int = SPE * EPOCHS) -> list[float]:
    """The lr each optimizer step runs with, through torch's LambdaLR as training uses it."""
    sched_cfg = OmegaConf.create({"name": name, "warmup_epochs": WARM_EPOCHS,
                                  "warmup_start_lr": START, "min_lr": MIN_LR})
    opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=LR)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda(sched_cfg, LR, SPE, EPOCHS))
    used = []
    for _ in range(steps):
        used.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return used


def test_warmup_cosine_follows_the_formula_at_every_step() -> None:
    warm, total = SPE * WARM_EPOCHS, SPE * EPOCHS
    used = _lrs_used()
    for step, lr in enumerate(used):
        assert math.isclose(lr, _reference(step, warm, total), rel_tol=1e-12), step
    assert math.isclose(used[0], START, rel_tol=1e-12)
    assert math.isclose(used[warm - 1], LR, rel_tol=1e-12)  # end of warmup: the peak
    assert math.isclose(used[warm], LR, rel_tol=1e-12)  # and the cosine's start
    mid = warm + (total - warm) // 2  # (T - W) is even here: the cosine's midpoint
    assert math.isclose(used[mid], (LR + MIN_LR) / 2, rel_tol=1e-12)
    assert used[-1] > MIN_LR and math.isclose(used[-1], _reference(total - 1, warm, total))
    sched_cfg = OmegaConf.create({"name": "warmup_cosine", "warmup_epochs": WARM_EPOCHS,
                                  "warmup_start_lr": START, "min_lr": MIN_LR})
    assert math.isclose(LR * lr_lambda(sched_cfg, LR, SPE, EPOCHS)(total), MIN_LR)


# Learning rates at chosen steps, computed with solo-learn's own scheduler (commit 9187ea3,
# solo/utils/lr_scheduler.py, LinearWarmupCosineAnnealingLR stepped once per optimizer step on
# torch SGD, as solo/methods/base.py runs it with interval "step"): (lr, W, T,
# warmup_start_lr, min_lr) -> {step: lr}. "vicreg" is scripts/pretrain/cifar/vicreg.yaml
# (lr 0.3, 10 warm-up epochs and 1000 epochs of 195 steps).
SOLO_LEARN_LRS = {
    (0.3, 1950, 195000, 3e-5, 0.0): {
        0: 3e-05, 1: 0.00018390969728065675, 1948: 0.2998460903027118,
        1949: 0.29999999999999244, 1950: 0.3, 1951: 0.2999999999801381,
        98475: 0.14999999999999936, 194999: 1.986192876834972e-11},
    (1.0, 14, 70, 0.0, 1e-3): {
        0: 0.0, 1: 0.07692307692307693, 12: 0.9230769230769229, 13: 0.9999999999999998,
        14: 1.0, 15: 0.9992141941013994, 42: 0.5005000000000002, 69: 0.001785805898600606},
    (0.4, 3, 15, 3e-5, 0.0): {
        0: 3e-05, 1: 0.20001500000000003, 2: 0.4, 3: 0.4, 4: 0.39318516525781366,
        9: 0.20000000000000004, 14: 0.0068148347421863615},
    (0.4, 1, 10, 3e-5, 0.0): {
        0: 3e-05, 1: 0.4, 2: 0.3879385241571817, 5: 0.2347296355333861,
        9: 0.012061475842818338},
}


@pytest.mark.parametrize("setting", list(SOLO_LEARN_LRS))
def test_warmup_cosine_matches_solo_learns_scheduler(
        setting: tuple[float, int, int, float, float]) -> None:
    lr, warm, total, start, min_lr = setting
    # steps_per_epoch x epochs: the warm-up and the run in whole epochs, as training has them
    spe = math.gcd(warm, total)
    sched_cfg = OmegaConf.create({"name": "warmup_cosine", "warmup_epochs": warm // spe,
                                  "warmup_start_lr": start, "min_lr": min_lr})
    factor = lr_lambda(sched_cfg, lr, spe, total // spe)
    for step, expected in SOLO_LEARN_LRS[setting].items():
        # solo-learn chains its steps (lr(s) from lr(s - 1)); this is the closed form
        assert math.isclose(lr * factor(step), expected, rel_tol=1e-9, abs_tol=1e-15), step


def test_the_schedule_moves_every_step_not_every_epoch() -> None:
    used = _lrs_used()
    assert len(set(used[:SPE])) == SPE  # warmup rises within the first epoch
    assert len(set(used[-SPE:])) == SPE  # and the cosine falls within the last


def test_cosine_has_no_warmup_and_none_is_constant() -> None:
    total = SPE * EPOCHS
    for step, lr in enumerate(_lrs_used("cosine")):
        assert math.isclose(lr, _reference(step, 0, total), rel_tol=1e-12)
    assert set(_lrs_used("none")) == {LR}


def test_the_training_module_steps_the_schedule_per_batch() -> None:
    from sweeper.ssl.build import build_parts
    from sweeper.ssl.module import SSLModule
    from tests.ssl.conftest import digits_cfg

    parts = build_parts(digits_cfg("max_epochs=5", "limit_train_batches=3"))
    conf = SSLModule(parts.cfg, parts.method, parts.views, parts.train_set
                     ).configure_optimizers()
    assert conf["lr_scheduler"]["interval"] == "step"
    sched = conf["lr_scheduler"]["scheduler"]
    factor = sched.lr_lambdas[0]
    base, warm = float(parts.cfg.optimizer.lr), 3 * int(parts.cfg.scheduler.warmup_epochs)
    assert math.isclose(base * factor(0), float(parts.cfg.scheduler.warmup_start_lr))
    assert math.isclose(factor(warm), 1.0)  # 3 steps an epoch (the limit), not digits' 4
    assert math.isclose(base * factor(3 * 5), float(parts.cfg.scheduler.min_lr), abs_tol=1e-12)


def _model() -> nn.Sequential:
    frozen = nn.Linear(3, 3)
    frozen.requires_grad_(False)
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.Flatten(),
                         nn.Linear(4, 5), nn.LayerNorm(5), nn.Linear(5, 3, bias=False), frozen)


@pytest.mark.parametrize("name", ["sgd", "adamw"])
def test_biases_and_norms_get_no_weight_decay(name: str) -> None:
    model = _model()
    kwargs = {"exclude_bias_n_norm": True, **({"momentum": 0.9} if name != "adamw" else {})}
    cfg = OmegaConf.create({"name": name, "lr": 0.1, "weight_decay": 1e-4, "kwargs": kwargs})
    groups = {g["weight_decay"]: {id(p) for p in g["params"]}
              for g in build_optimizer(model, cfg).param_groups}
    weights = {id(model[i].weight) for i in (0, 3, 5)}
    flat = {id(model[0].bias), id(model[1].weight), id(model[1].bias), id(model[3].bias),
            id(model[4].weight), id(model[4].bias)}
    assert groups == {1e-4: weights, 0.0: flat}  # the frozen layer is in neither

    cfg.kwargs.exclude_bias_n_norm = False
    (group,) = build_optimizer(model, cfg).param_groups
    assert group["weight_decay"] == 1e-4 and len(group["params"]) == len(weights | flat)


def test_lars_scales_weights_by_the_trust_ratio_and_leaves_biases_alone() -> None:
    torch.manual_seed(0)
    layer = nn.Linear(4, 3).double()
    cfg = OmegaConf.create({"name": "lars", "lr": 0.5, "weight_decay": 1e-2,
                            "kwargs": {"momentum": 0.9, "eta": 0.02,
                                       "exclude_bias_n_norm": True}})
    opt = build_optimizer(layer, cfg)
    w0, b0 = layer.weight.detach().clone(), layer.bias.detach().clone()
    layer(torch.randn(8, 4, dtype=torch.float64)).pow(2).sum().backward()
    assert layer.weight.grad is not None and layer.bias.grad is not None
    gw, gb = layer.weight.grad.clone(), layer.bias.grad.clone()
    opt.step()  # first step: the momentum buffer is the (scaled) update itself
    trust = 0.02 * w0.norm() / (gw.norm() + 1e-2 * w0.norm())
    torch.testing.assert_close(layer.weight.detach(), w0 - 0.5 * trust * (gw + 1e-2 * w0),
                               rtol=1e-6, atol=1e-9)
    torch.testing.assert_close(layer.bias.detach(), b0 - 0.5 * gb, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("backbone", ["digits_cnn", "resnet18", "vit_tiny"])
def test_lightlys_split_is_solo_learns_ndim_rule_on_every_method(backbone: str) -> None:
    """solo-learn leaves parameters with ndim <= 1 undecayed; lightly's split (norm layers and
    biases) picks the same ones on every shipped method and backbone."""
    from sweeper.config import compose_config
    from sweeper.ssl.build import build_model
    from sweeper.ssl.methods import METHODS

    for method in METHODS:
        if method == "mae" and not backbone.startswith("vit"):
            continue  # MAE masks ViT patch tokens: it refuses other backbones
        model = build_model(compose_config([f"method={method}", f"backbone={backbone}"]))
        cfg = OmegaConf.create({"name": "sgd", "lr": 0.1, "weight_decay": 1e-4,
                                "kwargs": {"exclude_bias_n_norm": True}})
        groups = {g["weight_decay"]: {id(p) for p in g["params"]}
                  for g in build_optimizer(model, cfg).param_groups}
        trainable = [p for p in model.parameters() if p.requires_grad]
        assert groups[0.0] == {id(p) for p in trainable if p.ndim <= 1}, method
        assert groups[1e-4] == {id(p) for p in trainable if p.ndim > 1}, method
