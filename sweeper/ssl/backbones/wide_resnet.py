"""Wide ResNets (Zagoruyko & Komodakis, 2016) as solo-learn builds them for CIFAR:
``wide_resnet28w2`` (128 features) and ``wide_resnet28w8`` (512).

Depth 28 = 3 groups of 4 pre-activation basic blocks, widths 16k, 32k and 64k after a 3x3
stem; BatchNorm with momentum 0.001 and eps 0.001, LeakyReLU(0.1), biased convolutions, a
1x1 shortcut where the width changes. Parameter names follow solo-learn's, so its
checkpoints load as they are, and so do two of its habits that change numbers: the first
block pre-activates its input before the shortcut too, and the first block of groups 2
and 3 convolves the raw input (its ``bn1`` still updates its running statistics).
Written from the paper and solo-learn's description; checked against solo-learn's
features in ``tests/ssl/test_wide_resnet.py``.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from sweeper.ssl.backbones.registry import BACKBONES

__all__ = ["WIDE_RESNETS", "WideResNet"]

WIDE_RESNETS = {"wide_resnet28w2": 2, "wide_resnet28w8": 8}  # widen factor, depth 28


def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, momentum=0.001, eps=0.001)


class _Block(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int, activate_shortcut: bool,
                 drop_rate: float) -> None:
        super().__init__()
        self.bn1, self.relu1 = _bn(c_in), nn.LeakyReLU(0.1)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=True)
        self.bn2, self.relu2 = _bn(c_out), nn.LeakyReLU(0.1)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, stride=1, padding=1, bias=True)
        self.convShortcut = (None if c_in == c_out else  # solo-learn's name
                             nn.Conv2d(c_in, c_out, 1, stride=stride, padding=0, bias=True))
        self.dropout = nn.Dropout(drop_rate) if drop_rate > 0 else nn.Identity()
        self.activate_shortcut = activate_shortcut

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pre = self.relu1(self.bn1(x))
        if self.convShortcut is None:
            inner, skip = pre, x
        else:  # widening: both paths see the pre-activation, or both the raw input
            inner = skip = pre if self.activate_shortcut else x
            skip = self.convShortcut(skip)
        out = self.dropout(self.relu2(self.bn2(self.conv1(inner))))
        return skip + self.conv2(out)


class _Group(nn.Module):
    def __init__(self, blocks: int, c_in: int, c_out: int, stride: int,
                 activate_shortcut: bool, drop_rate: float) -> None:
        super().__init__()
        self.layer = nn.Sequential(*[
            _Block(c_in if i == 0 else c_out, c_out, stride if i == 0 else 1,
                   activate_shortcut, drop_rate) for i in range(blocks)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer(x)


class WideResNet(nn.Module):
    """WRN-``depth``-``widen_factor``: images -> ``64 * widen_factor`` pooled features."""

    def __init__(self, depth: int = 28, widen_factor: int = 2, first_stride: int = 1,
                 drop_rate: float = 0.0, in_channels: int = 3) -> None:
        super().__init__()
        if (depth - 4) % 6:
            raise ValueError(f"a wide ResNet's depth is 6n + 4, got {depth}")
        n = (depth - 4) // 6
        widths = [16, 16 * widen_factor, 32 * widen_factor, 64 * widen_factor]
        self.num_features = widths[-1]
        self.conv1 = nn.Conv2d(in_channels, widths[0], 3, stride=1, padding=1, bias=True)
        self.block1 = _Group(n, widths[0], widths[1], first_stride, True, drop_rate)
        self.block2 = _Group(n, widths[1], widths[2], 2, False, drop_rate)
        self.block3 = _Group(n, widths[2], widths[3], 2, False, drop_rate)
        self.bn1, self.relu = _bn(widths[3]), nn.LeakyReLU(0.1)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="leaky_relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.block3(self.block2(self.block1(self.conv1(x))))
        return torch.flatten(nn.functional.adaptive_avg_pool2d(self.relu(self.bn1(x)), 1), 1)


@BACKBONES.register(*WIDE_RESNETS, smallest=1)  # 3x3 convolutions padded by 1
def build_wide_resnet(name: str, in_channels: int, image_size: int, /,
                      small_stem: bool | None = None, **kwargs: Any) -> tuple[nn.Module, int]:
    net = WideResNet(depth=28, widen_factor=WIDE_RESNETS[name], in_channels=in_channels,
                     **kwargs)  # solo-learn's kwargs: first_stride, drop_rate
    return net, net.num_features
