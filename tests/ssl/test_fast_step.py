"""The GPU step's levers, checked on the CPU: ForeachLARS makes SoloLARS's update, and a
conv backbone in channels_last computes what it computes in the default format."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from omegaconf import OmegaConf
from torch import nn

from sweeper.ssl.backbones import build_backbone
from sweeper.ssl.lars_foreach import ForeachLARS
from sweeper.ssl.optim import SoloLARS, build_optimizer


def _net() -> Any:
    """Conv, norm and linear layers, a zero weight (LARS's zero-norm case), a parameter
    whose gradient is zero and one that gets no gradient."""
    torch.manual_seed(0)
    last = nn.Linear(5, 3)
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Flatten(),
                        nn.Linear(4 * 6 * 6, 5), last)
    with torch.no_grad():
        last.weight.zero_()
    net.register_parameter("unused", nn.Parameter(torch.ones(2, 2)))
    net.register_parameter("flat", nn.Parameter(torch.ones(3)))
    return net


def _steps(cls: type[SoloLARS], flags: dict, steps: int = 4) -> tuple[Any, dict]:
    net = _net()
    cfg = OmegaConf.create({"name": "lars", "lr": 0.4, "weight_decay": 1e-3,
                            "kwargs": {"momentum": 0.9, "eta": 0.02, **flags}})
    opt = build_optimizer(net, cfg, lars=cls)
    assert type(opt) is cls
    gen = torch.Generator().manual_seed(1)
    for _ in range(steps):
        opt.zero_grad(set_to_none=True)
        x = torch.randn(6, 3, 8, 8, generator=gen)
        loss = net[:4](x).pow(2).mean() + net[4](net[:4](x)).sum() + 0 * net.flat.sum()
        loss.backward()
        opt.step()
    return net, opt.state_dict()


@pytest.mark.parametrize("flags", [
    {"clip_lr": True, "exclude_bias_n_norm": True},
    {"clip_lr": False, "exclude_bias_n_norm": False},
    {"clip_lr": True, "exclude_bias_n_norm": False, "nesterov": True},
    {"clip_lr": False, "exclude_bias_n_norm": True, "momentum": 0.0},
])
def test_foreach_lars_steps_as_solo_lars(flags: dict) -> None:
    want, want_state = _steps(SoloLARS, flags)
    got, got_state = _steps(ForeachLARS, flags)
    moved = 0
    for (name, a), b in zip(want.named_parameters(), got.parameters(), strict=True):
        torch.testing.assert_close(b, a, rtol=1e-6, atol=1e-7, msg=name)
        moved += int(not torch.equal(a, _net().get_parameter(name)))
    assert moved >= 6  # conv, BN, both linears (the zeroed one too) moved; unused did not
    assert torch.equal(got.unused, torch.ones(2, 2))
    assert want_state["state"].keys() == got_state["state"].keys()
    for k, s in want_state["state"].items():
        if "momentum_buffer" in s:
            torch.testing.assert_close(got_state["state"][k]["momentum_buffer"],
                                       s["momentum_buffer"], rtol=1e-6, atol=1e-7)


def _pair(name: str, dtype: torch.dtype) -> tuple[nn.Module, nn.Module]:
    torch.manual_seed(0)
    net, _ = build_backbone(name, 3, 32, {})
    last, _ = build_backbone(name, 3, 32, {})
    last.load_state_dict(net.state_dict())
    last = last.to(dtype).to(memory_format=torch.channels_last)
    assert any(p.ndim == 4 and p.is_contiguous(memory_format=torch.channels_last)
               and not p.is_contiguous() for p in last.parameters())
    return net.to(dtype), last


def _grads(net: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
    out = net(x)
    out.square().mean().backward()
    return out.detach(), [p.grad for p in net.parameters()]  # type: ignore[misc]


@pytest.mark.parametrize("name", ["resnet18"])
def test_channels_last_computes_the_default_formats_values(name: str) -> None:
    """A conv backbone in channels_last (the module's GPU default) against the same weights
    in the default format, on the CPU. In float64 forward and backward agree to 1e-10 in
    training mode. In float32 the features agree to rounding; the gradients through
    training-mode batch norm on a small batch lose digits to cancellation in either format
    (about 1% apart; the float64 pair 1e-13), so float32 gradients are compared in
    eval mode."""
    for dtype, train in ((torch.float64, True), (torch.float32, False)):
        net, last = _pair(name, dtype)
        net.train(train)
        last.train(train)
        x = torch.randn(4, 3, 16, 16, dtype=dtype)  # small: float64 convs are slow
        out, grads = _grads(net, x)
        out_last, grads_last = _grads(last, x.contiguous(memory_format=torch.channels_last))
        tol = 1e-10 if dtype == torch.float64 else 1e-5
        torch.testing.assert_close(out_last, out, rtol=tol, atol=tol)
        for a, b in zip(grads, grads_last, strict=True):
            assert float((a - b).norm() / a.norm()) < tol * 10


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_foreach_lars_on_cuda_steps_as_solo_lars() -> None:
    flags = {"clip_lr": True, "exclude_bias_n_norm": True}
    nets = []
    for cls in (SoloLARS, ForeachLARS):
        torch.manual_seed(0)
        net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.Flatten(),
                            nn.Linear(8 * 30 * 30, 4)).cuda()
        cfg = OmegaConf.create({"name": "lars", "lr": 0.4, "weight_decay": 1e-4,
                                "kwargs": {"momentum": 0.9, "eta": 0.02, **flags}})
        opt = build_optimizer(net, cfg, lars=cls)
        gen = torch.Generator(device="cuda").manual_seed(1)
        for _ in range(3):
            opt.zero_grad()
            net(torch.randn(4, 3, 32, 32, device="cuda", generator=gen)).square().mean().backward()
            opt.step()
        nets.append(net)
    for a, b in zip(nets[0].parameters(), nets[1].parameters(), strict=True):
        torch.testing.assert_close(b, a, rtol=1e-5, atol=1e-6)
