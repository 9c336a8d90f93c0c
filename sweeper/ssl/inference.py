"""A frozen backbone prepared for fast CPU inference: BatchNorm folded, channels-last.

Feature extraction runs every checkpoint of a study over the whole train and test splits
(CIFAR-10: 60,000 images per trial), which made it most of ``compare``'s time on a CPU.
Two rewrites that leave the function unchanged up to float rounding (about 1e-7 relative):

- every ``Conv2d`` directly followed by a ``BatchNorm2d`` inside an ``nn.Sequential`` (the
  CNNs' blocks, ResNet downsample paths) becomes one conv whose weight and bias carry the
  BatchNorm's eval-mode affine map (``y = gamma (conv(x) - mean) / sqrt(var + eps) + beta``);
- the weights and the inputs use the channels-last memory layout, which oneDNN's CPU
  convolutions run faster.

Measured on small_cnn, 2-core CPU: about 2x fewer seconds per image (docs/benchmarks.md).
"""

from __future__ import annotations

import copy
import itertools

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

__all__ = ["fold_batchnorm", "inference_backbone", "to_input_layout"]


def fold_batchnorm(net: nn.Module) -> int:
    """Fold each eval-mode ``Conv2d`` -> ``BatchNorm2d`` pair of an ``nn.Sequential`` in place.

    The BatchNorm is replaced by ``nn.Identity`` (indices and state-dict keys of the other
    layers stay put). Pairs in training mode, or whose BatchNorm tracks no running
    statistics, are left alone.

    Returns:
        The number of pairs folded.
    """
    folded = 0
    for module in [m for m in net.modules() if isinstance(m, nn.Sequential)]:
        names = list(module._modules)
        for first, second in itertools.pairwise(names):
            conv, bn = module._modules[first], module._modules[second]
            if (isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d)
                    and not conv.training and not bn.training
                    and bn.running_mean is not None and bn.running_var is not None):
                module._modules[first] = fuse_conv_bn_eval(conv, bn)
                module._modules[second] = nn.Identity()
                folded += 1
    return folded


def inference_backbone(net: nn.Module) -> nn.Module:
    """A copy of the eval-mode ``net`` with BatchNorm folded and channels-last weights.

    The original is untouched. Feed it inputs through :func:`to_input_layout`.
    """
    fast = copy.deepcopy(net).eval()
    fold_batchnorm(fast)
    return fast.to(memory_format=torch.channels_last)


def to_input_layout(images: torch.Tensor) -> torch.Tensor:
    """Images (B x C x H x W) in the channels-last layout; other shapes unchanged."""
    if images.dim() != 4:
        return images
    return images.contiguous(memory_format=torch.channels_last)
