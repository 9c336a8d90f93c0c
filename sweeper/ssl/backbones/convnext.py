"""solo-learn's ConvNeXts: timm's class with solo-learn's sizes.

solo-learn builds them through timm with ``num_classes=0`` and the ``backbone.kwargs`` of
its yaml; the sizes below are those of ``solo/backbones/convnext`` (commit 9187ea3). Their
parameter names are timm's, so a solo-learn checkpoint's ``backbone.*`` keys load.
"""

from __future__ import annotations

from typing import Any

from timm.models.convnext import ConvNeXt
from torch import nn

from sweeper.ssl.backbones.construct import construct
from sweeper.ssl.backbones.registry import BACKBONES

__all__ = ["CONVNEXTS"]

# depths per stage, widths per stage
CONVNEXTS: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {
    "convnext_tiny": ((3, 3, 9, 3), (96, 192, 384, 768)),
    "convnext_small": ((3, 3, 27, 3), (96, 192, 384, 768)),
    "convnext_base": ((3, 3, 27, 3), (128, 256, 512, 1024)),
    "convnext_large": ((3, 3, 27, 3), (192, 384, 768, 1536)),
}


@BACKBONES.register(*CONVNEXTS, smallest=32)  # a stride-4 stem, then three halvings
def build_convnext(name: str, in_channels: int, image_size: int, /,
                   small_stem: bool | None = None, **kwargs: Any) -> tuple[nn.Module, int]:
    """solo-learn's ``convnext_*``: its stride-4 stem turns 32 px into 8x8 tokens, so CIFAR
    needs no kwargs (solo-learn passes none)."""
    depths, dims = CONVNEXTS[name]
    net = construct(name, "timm's ConvNeXt", lambda: ConvNeXt(**{
        "depths": depths, "dims": dims, "num_classes": 0, "in_chans": in_channels, **kwargs}))
    return net, int(net.num_features)
