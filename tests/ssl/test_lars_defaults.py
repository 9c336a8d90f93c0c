"""LARS keys a solo-learn yaml leaves out take solo-learn's defaults (eta 1e-3, clip_lr
false, exclude_bias_n_norm false; momentum 0.9 from solo/args/pretrain.py), not a preset's.

The numbers below were computed with solo-learn's own ``solo.utils.lars.LARS`` (commit
9187ea3, solo/utils/lars.py; momentum 0.9 as solo/args/pretrain.py fills it, the other keys
as the yaml gives them or LARS's own defaults): two steps on one Linear(8, 16) layer, lr 0.3,
weight decay 1e-4, the weights and gradients of ``fixed`` below. Each step: |w - w0|,
|b - b0|, w[3, 5], b[7].
"""

from __future__ import annotations

import pytest
import torch
from omegaconf import OmegaConf
from torch import nn

from sweeper.config import complete_config
from sweeper.ssl.optim import build_optimizer
from tests.ssl.solo_learn_cifar import config

SOLO_LEARN_STEPS = {
    # a LARS yaml without eta, clip_lr and exclude_bias_n_norm: solo-learn's defaults
    "none set": [(0.00032844400266185403, 0.00014460869715549052, 0.11868121474981308,
                  -0.020691318437457085),
                 (0.0009525024797767401, 0.00041936858906410635, 0.11858219653367996,
                  -0.02065209299325943)],
    # scripts/pretrain/cifar/vibcreg.yaml: eta 0.02 and exclude_bias_n_norm, no clip_lr
    "vibcreg.yaml": [(0.006568846292793751, 1.133501648902893, 0.11769107729196548,
                      0.14111126959323883),
                     (0.01905403658747673, 3.2871546745300293, 0.11571010947227478,
                      0.4485754072666168)],
}


def fixed(seed: int, *shape: int) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def _solo_yaml(case: str) -> dict:
    if case == "vibcreg.yaml":
        return config("vibcreg")
    cfg = config("simclr")
    del cfg["optimizer"]["kwargs"]  # a yaml that sets none of LARS's keys
    return cfg


@pytest.mark.parametrize("case", list(SOLO_LEARN_STEPS))
def test_lars_keys_a_yaml_omits_take_solo_learns_defaults(case: str) -> None:
    cfg = complete_config(OmegaConf.create(_solo_yaml(case)))
    kwargs = dict(cfg.optimizer.kwargs)
    assert kwargs["clip_lr"] is False  # neither yaml sets it; solo-learn's default
    if case == "none set":
        assert kwargs == {"momentum": 0.9, "eta": 1e-3, "clip_lr": False,
                          "exclude_bias_n_norm": False}
    layer = nn.Linear(8, 16)
    with torch.no_grad():
        layer.weight.copy_(fixed(50, 16, 8) * 0.1)
        layer.bias.copy_(fixed(51, 16) * 0.1)
    opt = build_optimizer(layer, cfg.optimizer, lr=0.3)
    w0, b0 = layer.weight.detach().clone(), layer.bias.detach().clone()
    for w_moved, b_moved, w35, b7 in SOLO_LEARN_STEPS[case]:
        layer.weight.grad, layer.bias.grad = fixed(52, 16, 8), fixed(53, 16)
        opt.step()
        w, b = layer.weight.detach(), layer.bias.detach()
        assert float((w - w0).norm()) == pytest.approx(w_moved, rel=1e-5)
        assert float((b - b0).norm()) == pytest.approx(b_moved, rel=1e-5)
        assert float(w[3, 5]) == pytest.approx(w35, rel=1e-5)
        assert float(b[7]) == pytest.approx(b7, rel=1e-5)
