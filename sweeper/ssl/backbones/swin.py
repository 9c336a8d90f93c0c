"""solo-learn's Swin transformers: timm's class with solo-learn's sizes.

solo-learn builds them through timm with ``num_classes=0`` and the ``backbone.kwargs`` of
its yaml; the sizes below are those of ``solo/backbones/swin`` (commit 9187ea3). Their
parameter names are timm's, so a solo-learn checkpoint's ``backbone.*`` keys load.
"""

from __future__ import annotations

from typing import Any

from timm.models.swin_transformer import SwinTransformer
from torch import nn

from sweeper.ssl.backbones.construct import construct
from sweeper.ssl.backbones.registry import BACKBONES

__all__ = ["SWINS"]

# embedding width, depths per stage, heads per stage (patch size 4 for all)
SWINS: dict[str, tuple[int, tuple[int, ...], tuple[int, ...]]] = {
    "swin_tiny": (96, (2, 2, 6, 2), (3, 6, 12, 24)),
    "swin_small": (96, (2, 2, 18, 2), (3, 6, 12, 24)),
    "swin_base": (128, (2, 2, 18, 2), (4, 8, 16, 32)),
    "swin_large": (192, (2, 2, 18, 2), (6, 12, 24, 48)),
}


@BACKBONES.register(*SWINS, smallest=32)  # 4-pixel patches, then three patch merges
def build_swin(name: str, in_channels: int, image_size: int, /,
               small_stem: bool | None = None, **kwargs: Any) -> tuple[nn.Module, int]:
    """solo-learn's ``swin_*``: patch size 4, ``window_size`` 7 unless the kwargs say.

    ``img_size`` defaults to the crop size (solo-learn's default, 224, would refuse a 32 px
    crop; its CIFAR yaml must say ``img_size: 32``) and must equal it when given.
    """
    img_size = int(kwargs.pop("img_size", image_size))
    if img_size != image_size:
        raise ValueError(f"{name}: backbone.kwargs.img_size is {img_size} but the crop size "
                         f"is {image_size}; the Swin transformer is built for the crop size")
    if "patch_size" in kwargs:
        raise ValueError(f"{name}: backbone.kwargs.patch_size is not allowed; solo-learn's "
                         f"Swin transformers always use 4-pixel patches")
    if image_size % 4:
        raise ValueError(f"{name}: image size {image_size} is not a multiple of the patch "
                         f"size 4")
    embed_dim, depths, heads = SWINS[name]
    window = kwargs.pop("window_size", 7)
    net = construct(name, "timm's SwinTransformer", lambda: SwinTransformer(**{
        "img_size": img_size, "patch_size": 4, "window_size": window, "embed_dim": embed_dim,
        "depths": depths, "num_heads": heads, "num_classes": 0, "in_chans": in_channels,
        **kwargs}))
    return net, int(net.num_features)
