"""Two small CNNs for CPU studies: ``digits_cnn`` for 8x8 grayscale digits and ``small_cnn``
for small colour images (CIFAR-10 on 2 cores)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from sweeper.ssl.backbones.registry import BACKBONES

__all__ = ["DigitsCNN", "SmallCNN"]


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


@BACKBONES.register("digits_cnn", smallest=2)
def build_digits_cnn(name: str, in_channels: int, image_size: int, /,
                     small_stem: bool | None = None, **kwargs: Any) -> tuple[nn.Module, int]:
    net = DigitsCNN(in_channels, **kwargs)
    return net, net.num_features


@BACKBONES.register("small_cnn", smallest=8)  # three 2x2 max-pools
def build_small_cnn(name: str, in_channels: int, image_size: int, /,
                    small_stem: bool | None = None, **kwargs: Any) -> tuple[nn.Module, int]:
    if "widths" in kwargs:
        kwargs["widths"] = tuple(int(w) for w in kwargs["widths"])
    net = SmallCNN(in_channels, **kwargs)
    return net, net.num_features
