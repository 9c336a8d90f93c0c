"""Backbones: torchvision ResNets (CIFAR stem for small images), timm ViTs (MoCo v3's and MAE's
for methods mocov3 and mae), Swin transformers and ConvNeXts, PoolFormers, wide ResNets, two
small CNNs: solo-learn's names and sizes.

Every builder returns a module mapping images ``B x C x H x W`` to features ``B x K`` and K.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

import torch
from torch import nn

from sweeper.ssl.poolformer import POOLFORMERS, build_poolformer
from sweeper.ssl.timm_backbones import CONVNEXTS, SWINS, build_convnext, build_swin
from sweeper.ssl.vit_mae import mae_vit
from sweeper.ssl.vit_mocov3 import mocov3_vit
from sweeper.ssl.vit_sincos import SINCOS_VITS

__all__ = ["BACKBONES", "METHOD_BACKBONES", "DigitsCNN", "SmallCNN", "build_backbone",
           "cifar_stem", "variant_method"]

# Images up to this size get the CIFAR stem (ResNets) or 4-pixel patches (ViTs), as solo-learn
# does for CIFAR: an ImageNet stem would shrink a 32 px image to 8 px before the first block.
# solo-learn picks the stem by dataset (cifar10/cifar100); a solo-learn checkpoint's
# args.json names its dataset and ``small_stem`` then follows it.
SMALL_IMAGE = 64


class DigitsCNN(nn.Module):
    """A small CNN for 8x8 grayscale digits.

    conv3x3(width) - conv3x3(2 width) at 8x8, 2x2 max-pool, conv3x3(4 width) at 4x4, each
    with BatchNorm and ReLU, then global average pooling: ``4 * width`` features.
    """

    def __init__(self, in_channels: int = 1, width: int = 32) -> None:
        super().__init__()

        def block(c_in: int, c_out: int) -> list[nn.Module]:
            return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out),
                    nn.ReLU(inplace=True)]

        self.layers = nn.Sequential(
            *block(in_channels, width), *block(width, 2 * width), nn.MaxPool2d(2),
            *block(2 * width, 4 * width), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        )
        self.num_features = 4 * width

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


class SmallCNN(nn.Module):
    """A VGG-style CNN for small colour images, sized for CPU studies (CIFAR-10 on 2 cores).

    One conv3x3-BatchNorm-ReLU per stage, a 2x2 max-pool between stages, global average
    pooling: ``widths[-1]`` features. With widths (32, 64, 128, 256) at 32 px: 0.39 M
    parameters, 15 M multiply-adds per image (ResNet-18 with the CIFAR stem: 11 M, 560 M).
    """

    def __init__(self, in_channels: int = 3, widths: tuple[int, ...] = (32, 64, 128, 256)
                 ) -> None:
        super().__init__()
        if not widths:
            raise ValueError("backbone.kwargs.widths must list at least one stage width")
        layers: list[nn.Module] = []
        c_in = in_channels
        for i, width in enumerate(widths):
            if i:
                layers.append(nn.MaxPool2d(2))
            layers += [nn.Conv2d(c_in, width, 3, padding=1, bias=False), nn.BatchNorm2d(width),
                       nn.ReLU(inplace=True)]
            c_in = width
        self.layers = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.num_features = c_in

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


def cifar_stem(in_channels: int = 3) -> nn.Conv2d:
    """solo-learn's CIFAR stem: a 3x3 convolution, stride 1, padding 2, no bias (the max-pool
    after it is removed)."""
    return nn.Conv2d(in_channels, 64, kernel_size=3, stride=1, padding=2, bias=False)


def _resnet(arch: str) -> Callable[..., tuple[nn.Module, int]]:
    def build(in_channels: int, image_size: int, small_stem: bool | None = None,
              **kwargs: Any) -> tuple[nn.Module, int]:
        import torchvision

        small = image_size <= SMALL_IMAGE if small_stem is None else small_stem
        net = getattr(torchvision.models, arch)(weights=None, **kwargs)
        if small:
            net.conv1 = cifar_stem(in_channels)
            net.maxpool = nn.Identity()
        elif in_channels != 3:
            net.conv1 = nn.Conv2d(in_channels, 64, kernel_size=3, stride=2, padding=1,
                                  bias=False)
        dim = net.fc.in_features
        net.fc = nn.Identity()
        return net, dim

    return build


def _timm_vit(arch: str) -> Callable[..., nn.Module]:
    def create(**kwargs: Any) -> nn.Module:
        import timm

        return timm.create_model(arch, pretrained=False, num_classes=0, **kwargs)

    return create


def _vit(name: str, create: Callable[..., nn.Module]) -> Callable[..., tuple[nn.Module, int]]:
    """A ViT builder: ``create`` (timm's ViT, MoCo v3's or MAE's) for the crop size, with 4-pixel
    patches for small images unless ``backbone.kwargs.patch_size`` says otherwise."""

    def build(in_channels: int, image_size: int, small_stem: bool | None = None,
              **kwargs: Any) -> tuple[nn.Module, int]:
        img_size = kwargs.pop("img_size", image_size)  # solo-learn's yamls repeat the crop
        if int(img_size) != image_size:
            raise ValueError(f"{name}: backbone.kwargs.img_size is {img_size} but the crop size "
                             f"is {image_size}; the ViT is built for the crop size")

        patch = kwargs.pop("patch_size", 4 if image_size <= SMALL_IMAGE else 16)
        if image_size % patch:
            raise ValueError(f"{name}: image size {image_size} is not a multiple of the "
                             f"patch size {patch}; set backbone.kwargs.patch_size")
        try:
            net = create(img_size=image_size, patch_size=patch, in_chans=in_channels, **kwargs)
        except TypeError as err:  # an unknown keyword reaches timm's constructor
            raise ValueError(f"{name}: backbone.kwargs not accepted by timm's "
                             f"VisionTransformer: {err}") from err
        return net, int(net.num_features)  # type: ignore[arg-type]

    return build


def _digits_cnn(in_channels: int, image_size: int, small_stem: bool | None = None,
                **kwargs: Any) -> tuple[nn.Module, int]:
    net = DigitsCNN(in_channels, **kwargs)
    return net, net.num_features


def _small_cnn(in_channels: int, image_size: int, small_stem: bool | None = None,
               **kwargs: Any) -> tuple[nn.Module, int]:
    if "widths" in kwargs:
        kwargs["widths"] = tuple(int(w) for w in kwargs["widths"])
    net = SmallCNN(in_channels, **kwargs)
    return net, net.num_features


def _wide_resnet(widen_factor: int) -> Callable[..., tuple[nn.Module, int]]:
    def build(in_channels: int, image_size: int, small_stem: bool | None = None,
              **kwargs: Any) -> tuple[nn.Module, int]:
        from sweeper.ssl.wide_resnet import WideResNet

        net = WideResNet(depth=28, widen_factor=widen_factor, in_channels=in_channels,
                         **kwargs)  # solo-learn's kwargs: first_stride, drop_rate
        return net, net.num_features

    return build


def _poolformer(name: str, in_channels: int, image_size: int, **kwargs: Any
                ) -> tuple[nn.Module, int]:
    net = build_poolformer(name, in_channels, **kwargs)
    return net, net.num_features


def _named(build: Callable[..., tuple[nn.Module, int]], name: str
           ) -> Callable[..., tuple[nn.Module, int]]:
    """A solo-learn-family builder (convnext, swin, poolformer) bound to one member."""

    def build_named(in_channels: int, image_size: int, small_stem: bool | None = None,
                    **kwargs: Any) -> tuple[nn.Module, int]:
        return build(name, in_channels, image_size, **kwargs)

    return build_named


BACKBONES: dict[str, Callable[..., tuple[nn.Module, int]]] = {
    "digits_cnn": _digits_cnn,
    "small_cnn": _small_cnn,
    "resnet18": _resnet("resnet18"),
    "resnet50": _resnet("resnet50"),
    "wide_resnet28w2": _wide_resnet(2),
    "wide_resnet28w8": _wide_resnet(8),
    "vit_tiny": _vit("vit_tiny", _timm_vit("vit_tiny_patch16_224")),
    "vit_small": _vit("vit_small", _timm_vit("vit_small_patch16_224")),
    "vit_base": _vit("vit_base", _timm_vit("vit_base_patch16_224")),
    "vit_large": _vit("vit_large", _timm_vit("vit_large_patch16_224")),
    **{name: _named(build_swin, name) for name in SWINS},
    **{name: _named(build_convnext, name) for name in CONVNEXTS},
    **{name: _named(_poolformer, name) for name in POOLFORMERS},
}


# Backbones a method builds in place of BACKBONES' member of the same name, as solo-learn's
# vit_* builders do (solo/backbones/vit/__init__.py): mocov3 gets MoCo v3's ViT, mae MAE's
# (lightly's masked encoder wraps it in training, methods/mae.py).
METHOD_BACKBONES: dict[str, dict[str, Callable[..., tuple[nn.Module, int]]]] = {
    "mocov3": {name: _vit(name, partial(mocov3_vit, name)) for name in SINCOS_VITS},
    "mae": {name: _vit(name, partial(mae_vit, name)) for name in SINCOS_VITS},
}


def variant_method(method: str | None, name: str) -> str | None:
    """The method whose own variant of backbone ``name`` it builds (``METHOD_BACKBONES``),
    or None for the plain one. Our checkpoints record it: those written before the variants
    existed hold plain timm ViTs whatever their method."""
    return method if method is not None and name in METHOD_BACKBONES.get(method, {}) else None


def build_backbone(name: str, in_channels: int, image_size: int,
                   kwargs: Mapping[str, Any] | None = None, small_stem: bool | None = None,
                   method: str | None = None) -> tuple[nn.Module, int]:
    """Build backbone ``name`` for ``in_channels`` x ``image_size`` px images.

    ``small_stem`` forces the CIFAR stem on or off; None picks it for images up to
    ``SMALL_IMAGE`` px. ``method`` picks the method's own variant where it has one
    (``METHOD_BACKBONES``: mocov3 and mae with a ViT).

    Returns:
        The module (images -> ``B x K`` features) and K.

    Raises:
        ValueError: for an unknown name, listing the known ones.
    """
    if name not in BACKBONES:
        raise ValueError(f"unknown backbone {name!r}; choose one of: {', '.join(BACKBONES)}")
    build = METHOD_BACKBONES.get(str(method), {}).get(name, BACKBONES[name])
    return build(in_channels, image_size, small_stem=small_stem, **dict(kwargs or {}))
