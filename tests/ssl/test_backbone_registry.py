"""Every registered backbone builds at its smallest input and gives the feature width it
declares; the registry refuses a name twice and a variant of nothing."""

from __future__ import annotations

import doctest
from typing import Any

import pytest
import torch
from torch import nn

from sweeper.config import group_choices
from sweeper.ssl.backbones import BACKBONES, BackboneRegistry, build_backbone, registry

# (name, method) for every plain member and every method's own variant of one
BUILDS = [(name, method) for name, entry in BACKBONES.items()
          for method in (None, *entry.variants)]
# Members up to this many parameters also build with real weights and run on real numbers;
# the larger ones (up to 300 M) build on the meta device only, which keeps this test fast.
REAL_UP_TO = 12_000_000


def _build(name: str, method: str | None) -> tuple[nn.Module, int, int]:
    side = BACKBONES[name].smallest
    net, dim = build_backbone(name, 3, side, method=method)
    return net.eval(), dim, side


@pytest.mark.parametrize(("name", "method"), BUILDS, ids=[f"{n}-{m}" for n, m in BUILDS])
def test_every_backbone_builds_at_its_smallest_input(name: str, method: str | None) -> None:
    with torch.device("meta"):
        net, dim, side = _build(name, method)
        out = net(torch.zeros(2, 3, side, side))
    assert out.shape == (2, dim)
    if sum(p.numel() for p in net.parameters()) > REAL_UP_TO:
        return
    torch.manual_seed(0)
    net, dim, side = _build(name, method)
    with torch.no_grad():
        out = net(torch.rand(2, 3, side, side))
    assert out.shape == (2, dim) and out.isfinite().all()


def test_the_variants_are_the_methods_vits() -> None:
    assert {(n, m) for n, m in BUILDS if m} == {
        (f"vit_{size}", m) for size in ("tiny", "small", "base", "large")
        for m in ("mocov3", "mae")}


def test_every_backbone_has_a_config_and_every_config_a_backbone() -> None:
    assert sorted(BACKBONES) == sorted(group_choices("backbone"))


def test_an_unknown_name_lists_the_known_ones_in_order() -> None:
    with pytest.raises(ValueError, match="unknown backbone 'resnet19'; choose one of: "
                                         "digits_cnn, small_cnn, resnet18, resnet50, "):
        build_backbone("resnet19", 3, 32)


@pytest.mark.parametrize("method", [None, "mocov3"])
def test_a_keyword_the_builder_sets_itself_stops_the_run_naming_the_backbone(
        method: str | None) -> None:
    with pytest.raises(ValueError, match="vit_tiny: backbone.kwargs not accepted by timm's "
                                         "VisionTransformer: .*in_chans"):
        build_backbone("vit_tiny", 3, 32, {"in_chans": 1}, method=method)


def _builder(name: str, in_channels: int, image_size: int, /, small_stem: bool | None = None,
             **kwargs: Any) -> tuple[nn.Module, int]:
    return nn.Flatten(), in_channels * image_size**2


def test_a_name_is_registered_once_and_a_variant_needs_its_member() -> None:
    own = BackboneRegistry()
    own.register("flat", smallest=1)(_builder)
    with pytest.raises(ValueError, match="'flat' is registered twice"):
        own.register("flat", smallest=1)(_builder)
    with pytest.raises(ValueError, match="mae's variant of backbone 'round': no such"):
        own.register_variant("mae", "round")(_builder)
    own.register_variant("mae", "flat")(_builder)
    with pytest.raises(ValueError, match="mae's variant of backbone 'flat' is registered twice"):
        own.register_variant("mae", "flat")(_builder)
    assert own.variant_method("mae", "flat") == "mae"
    assert own.variant_method("simclr", "flat") is None
    assert own.variant_method("mae", "round") is None
    assert own.build("flat", 2, 3, method="mae")[1] == 18


def test_doctests() -> None:
    assert doctest.testmod(registry).failed == 0
