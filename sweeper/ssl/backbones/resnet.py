"""torchvision's ResNets, with solo-learn's CIFAR stem for small images."""

from __future__ import annotations

from typing import Any

import torchvision
from torch import nn

from sweeper.ssl.backbones.registry import BACKBONES, SMALL_IMAGE

__all__ = ["RESNETS", "cifar_stem"]

RESNETS = ("resnet18", "resnet50")  # torchvision's names


def cifar_stem(in_channels: int = 3) -> nn.Conv2d:
    """solo-learn's CIFAR stem: a 3x3 convolution, stride 1, padding 2, no bias (the max-pool
    after it is removed)."""
    return nn.Conv2d(in_channels, 64, kernel_size=3, stride=1, padding=2, bias=False)


@BACKBONES.register(*RESNETS, smallest=1)  # the CIFAR stem pads 1 px to 3 px
def build_resnet(name: str, in_channels: int, image_size: int, /,
                 small_stem: bool | None = None, **kwargs: Any) -> tuple[nn.Module, int]:
    """torchvision's ``name`` without its classifier; the CIFAR stem for images up to
    ``SMALL_IMAGE`` px unless ``small_stem`` says otherwise."""
    small = image_size <= SMALL_IMAGE if small_stem is None else small_stem
    net = getattr(torchvision.models, name)(weights=None, **kwargs)
    if small:
        net.conv1 = cifar_stem(in_channels)
        net.maxpool = nn.Identity()
    elif in_channels != 3:
        net.conv1 = nn.Conv2d(in_channels, 64, kernel_size=3, stride=2, padding=1,
                              bias=False)
    dim = net.fc.in_features
    net.fc = nn.Identity()
    return net, dim
