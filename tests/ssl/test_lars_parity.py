"""LARS against solo-learn's own ``solo.utils.lars.LARS`` (``solo_learn/lars.json``).

The fixture holds two steps on one Linear(8, 16) layer for each combination of ``clip_lr``
and ``exclude_bias_n_norm``, made once by running solo-learn (commit in the file).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from omegaconf import OmegaConf
from torch import nn

from sweeper.ssl.optim import build_optimizer

LARS: dict[str, Any] = json.loads(
    (Path(__file__).resolve().parent / "solo_learn" / "lars.json").read_text())


def fixed(seed: int, *shape: int) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("case", sorted(LARS["cases"]))
def test_two_lars_steps_match_solo_learn(case: str) -> None:
    flags = dict(part.split("=") for part in case.split(","))
    layer = nn.Linear(8, 16)
    with torch.no_grad():
        layer.weight.copy_(fixed(50, 16, 8) * 0.1)
        layer.bias.copy_(fixed(51, 16) * 0.1)
    cfg = OmegaConf.create({"name": "lars", "lr": 0.4, "weight_decay": 1e-4, "kwargs": {
        "momentum": 0.9, "eta": 0.02, "clip_lr": flags["clip_lr"] == "True",
        "exclude_bias_n_norm": flags["exclude_bias_n_norm"] == "True"}})
    opt = build_optimizer(layer, cfg)
    assert len(opt.param_groups) == 1  # solo-learn's exclusion is per parameter, in the step
    w0, b0 = layer.weight.detach().clone(), layer.bias.detach().clone()
    for expected in LARS["cases"][case]:
        layer.weight.grad, layer.bias.grad = fixed(52, 16, 8), fixed(53, 16)
        opt.step()
        w, b = layer.weight.detach(), layer.bias.detach()
        torch.testing.assert_close(w.flatten(), torch.tensor(expected["w"]), rtol=1e-5,
                                   atol=1e-7)
        torch.testing.assert_close(b, torch.tensor(expected["b"]), rtol=1e-5, atol=1e-7)
        assert float((w - w0).norm()) == pytest.approx(expected["w_moved"], rel=1e-5)
        assert float((b - b0).norm()) == pytest.approx(expected["b_moved"], rel=1e-5)
