"""timm's ViTs at solo-learn's sizes, with 4-pixel patches for small images.

With ``method: mocov3`` or ``method: mae`` the ``vit_*`` names build the method's own ViT
instead (:mod:`~sweeper.ssl.backbones.vit_mocov3`, :mod:`~sweeper.ssl.backbones.vit_mae`),
through :func:`vit_backbone` here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import timm
from torch import nn

from sweeper.ssl.backbones.construct import construct
from sweeper.ssl.backbones.registry import BACKBONES, SMALL_IMAGE

__all__ = ["TIMM_VITS", "vit_backbone"]

TIMM_VITS = {"vit_tiny": "vit_tiny_patch16_224", "vit_small": "vit_small_patch16_224",
             "vit_base": "vit_base_patch16_224", "vit_large": "vit_large_patch16_224"}


def vit_backbone(name: str, create: Callable[..., nn.Module], in_channels: int,
                 image_size: int, kwargs: dict[str, Any]) -> tuple[nn.Module, int]:
    """``create`` (timm's ViT, MoCo v3's or MAE's) for the crop size, with 4-pixel patches
    for small images unless ``backbone.kwargs.patch_size`` says otherwise.

    Raises:
        ValueError: for an ``img_size`` other than the crop size, a crop size that is not a
            multiple of the patch size, or kwargs the ViT does not take.
    """
    img_size = kwargs.pop("img_size", image_size)  # solo-learn's yamls repeat the crop
    if int(img_size) != image_size:
        raise ValueError(f"{name}: backbone.kwargs.img_size is {img_size} but the crop size "
                         f"is {image_size}; the ViT is built for the crop size")
    patch = kwargs.pop("patch_size", 4 if image_size <= SMALL_IMAGE else 16)
    if image_size % patch:
        raise ValueError(f"{name}: image size {image_size} is not a multiple of the "
                         f"patch size {patch}; set backbone.kwargs.patch_size")
    net = construct(name, "timm's VisionTransformer", lambda: create(
        img_size=image_size, patch_size=patch, in_chans=in_channels, **kwargs))
    return net, int(net.num_features)  # type: ignore[arg-type]


@BACKBONES.register(*TIMM_VITS, smallest=4)  # one 4-pixel patch
def build_vit(name: str, in_channels: int, image_size: int, /,
              small_stem: bool | None = None, **kwargs: Any) -> tuple[nn.Module, int]:
    def create(**timm_kwargs: Any) -> nn.Module:  # a num_classes in kwargs clashes: refused
        return timm.create_model(TIMM_VITS[name], pretrained=False, num_classes=0,
                                 **timm_kwargs)

    return vit_backbone(name, create, in_channels, image_size, kwargs)
