"""Augmented views made in batches on the training device, from solo-learn's schema.

Each entry of ``augmentations`` is a pipeline making ``num_crops`` views of size
``crop_size``: random resized crop (area in ``[crop_min_scale, crop_max_scale]``, aspect
ratio in [3/4, 4/3]) with horizontal flip, as one ``affine_grid``/``grid_sample`` per
batch; colour jitter (brightness, contrast, saturation as torchvision defines them; hue as a
rotation of the chroma plane in YIQ space); grayscale; Gaussian blur (sigma in [0.1, 2] of
a 224 px image, scaled to the crop, per-sample separable kernels); solarization (x >= 0.5
-> 1 - x); then normalization. Every random choice is drawn per image from torch's RNG on
the images' device: no PIL, no per-image Python loop, the same code on CPU and GPU.
Equalization is not implemented: enabling it is an error.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from omegaconf import DictConfig, OmegaConf

__all__ = ["BatchViews", "EvalView", "crop_size_of"]

_LUMA = (0.299, 0.587, 0.114)


def _enabled(cfg: Any, name: str) -> tuple[bool, float]:
    node = cfg.get(name) if cfg is not None else None
    if node is None:
        return False, 0.0
    prob = float(node.get("prob", 1.0))
    return bool(node.get("enabled", True)) and prob > 0, prob


def crop_size_of(augmentations: Sequence[Any]) -> int:
    """The view size: the first pipeline's ``crop_size``.

    Raises:
        ValueError: if there is no pipeline.
    """
    if not augmentations:
        raise ValueError("augmentations is empty: give at least one view pipeline")
    return int(augmentations[0].crop_size)


def _to_unit(x: torch.Tensor) -> torch.Tensor:
    return x.float().div_(255.0) if x.dtype == torch.uint8 else x.float()


def _gray(x: torch.Tensor) -> torch.Tensor:
    if x.shape[1] == 1:
        return x
    w = x.new_tensor(_LUMA).view(1, 3, 1, 1)
    return (x * w).sum(dim=1, keepdim=True)


def _per_sample(x: torch.Tensor, prob: float) -> torch.Tensor:
    """Boolean mask ``B x 1 x 1 x 1`` of the images an op with probability ``prob`` hits."""
    return (torch.rand(x.shape[0], 1, 1, 1, device=x.device) < prob)


def _uniform(x: torch.Tensor, low: float, high: float) -> torch.Tensor:
    return torch.empty(x.shape[0], 1, 1, 1, device=x.device).uniform_(low, high)


class _Pipeline:
    def __init__(self, cfg: DictConfig) -> None:
        on, _ = _enabled(cfg, "equalization")
        if on:
            raise ValueError("augmentations: equalization is not supported by the batched "
                             "views; set equalization.prob=0.0")
        self.cfg = cfg
        self.crop = int(cfg.crop_size)
        self.num_crops = int(cfg.get("num_crops", 1))
        rrc = cfg.get("rrc")
        self.rrc = bool(rrc is not None and rrc.get("enabled", True))
        self.scale = ((float(rrc.crop_min_scale), float(rrc.crop_max_scale)) if self.rrc
                      else (1.0, 1.0))

    def crop_and_flip(self, x: torch.Tensor) -> torch.Tensor:
        b = x.shape[0]
        dev = x.device
        area = torch.empty(b, device=dev).uniform_(*self.scale)
        log_r = torch.empty(b, device=dev).uniform_(math.log(3 / 4), math.log(4 / 3))
        ratio = log_r.exp() if self.rrc else torch.ones(b, device=dev)
        w = (area * ratio).sqrt().clamp(max=1.0)  # fractions of the image side
        h = (area / ratio).sqrt().clamp(max=1.0)
        cx = (torch.rand(b, device=dev) * 2 - 1) * (1 - w)
        cy = (torch.rand(b, device=dev) * 2 - 1) * (1 - h)
        flip_on, flip_p = _enabled(self.cfg, "horizontal_flip")
        sign = torch.ones(b, device=dev)
        if flip_on:
            sign = torch.where(torch.rand(b, device=dev) < flip_p, -1.0, 1.0)
        theta = torch.zeros(b, 2, 3, device=dev)
        theta[:, 0, 0], theta[:, 0, 2] = w * sign, cx
        theta[:, 1, 1], theta[:, 1, 2] = h, cy
        grid = F.affine_grid(theta, [b, x.shape[1], self.crop, self.crop], align_corners=False)
        return F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection",
                             align_corners=False)

    def color(self, x: torch.Tensor) -> torch.Tensor:
        on, prob = _enabled(self.cfg, "color_jitter")
        if on:
            cj = self.cfg.color_jitter
            hit = _per_sample(x, prob)
            y = x
            if float(cj.brightness) > 0:
                y = y * _uniform(x, 1 - float(cj.brightness), 1 + float(cj.brightness))
                y = y.clamp(0, 1)
            if float(cj.contrast) > 0:
                mean = _gray(y).mean(dim=(1, 2, 3), keepdim=True)
                f = _uniform(x, 1 - float(cj.contrast), 1 + float(cj.contrast))
                y = ((y - mean) * f + mean).clamp(0, 1)
            if x.shape[1] == 3 and float(cj.saturation) > 0:
                g = _gray(y)
                f = _uniform(x, 1 - float(cj.saturation), 1 + float(cj.saturation))
                y = ((y - g) * f + g).clamp(0, 1)
            if x.shape[1] == 3 and float(cj.hue) > 0:
                y = _rotate_hue(y, _uniform(x, -float(cj.hue), float(cj.hue)) * 2 * math.pi)
            x = torch.where(hit, y, x)
        on, prob = _enabled(self.cfg, "grayscale")
        if on and x.shape[1] == 3:
            x = torch.where(_per_sample(x, prob), _gray(x).expand_as(x), x)
        return x

    def blur_and_solarize(self, x: torch.Tensor) -> torch.Tensor:
        on, prob = _enabled(self.cfg, "gaussian_blur")
        if on:
            x = torch.where(_per_sample(x, prob), _blur(x), x)
        on, prob = _enabled(self.cfg, "solarization")
        if on:
            x = torch.where(_per_sample(x, prob), torch.where(x >= 0.5, 1 - x, x), x)
        return x

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self.blur_and_solarize(self.color(self.crop_and_flip(x)))


def _rotate_hue(x: torch.Tensor, angle: torch.Tensor) -> torch.Tensor:
    """Rotate the chroma (I, Q) plane of YIQ by ``angle`` (B x 1 x 1 x 1 radians)."""
    to_yiq = x.new_tensor([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322],
                           [0.211, -0.523, 0.312]])
    yiq = torch.einsum("ij,bjhw->bihw", to_yiq, x)
    c, s = angle.cos().squeeze(-1), angle.sin().squeeze(-1)  # B x 1 x 1
    i = yiq[:, 1:2] * c[:, None] - yiq[:, 2:3] * s[:, None]
    q = yiq[:, 1:2] * s[:, None] + yiq[:, 2:3] * c[:, None]
    rgb = torch.einsum("ij,bjhw->bihw", torch.linalg.inv(to_yiq), torch.cat([yiq[:, :1], i, q], 1))
    return rgb.clamp(0, 1)


def _blur(x: torch.Tensor) -> torch.Tensor:
    b, c, h, w = x.shape
    scale = h / 224.0  # solo-learn's sigma range is for 224 px crops
    sigma = torch.empty(b, device=x.device).uniform_(0.1, 2.0) * max(scale, 1e-3)
    radius = max(1, math.ceil(3 * 2.0 * scale))
    radius = min(radius, (min(h, w) - 1) // 2) or 1
    t = torch.arange(-radius, radius + 1, device=x.device, dtype=x.dtype)
    k = torch.exp(-(t[None] ** 2) / (2 * sigma[:, None] ** 2))
    k = (k / k.sum(dim=1, keepdim=True)).repeat_interleave(c, dim=0)  # (B C) x K
    flat = x.reshape(1, b * c, h, w)
    pad = (radius, radius, radius, radius)
    flat = F.pad(flat, pad, mode="reflect")
    flat = F.conv2d(flat, k[:, None, None, :], groups=b * c)
    flat = F.conv2d(flat, k[:, None, :, None], groups=b * c)
    return flat.reshape(b, c, h, w)


class _Normalize:
    def __init__(self, mean: Sequence[float], std: Sequence[float]) -> None:
        self.mean = torch.tensor(list(mean)).view(1, -1, 1, 1)
        self.std = torch.tensor(list(std)).view(1, -1, 1, 1)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if self.mean.device != x.device:
            self.mean, self.std = self.mean.to(x.device), self.std.to(x.device)
        return (x - self.mean) / self.std


class BatchViews:
    """Turn a batch of un-augmented images into the list of augmented, normalized views.

    Example:
        >>> views = BatchViews(cfg.augmentations, cfg.data.mean, cfg.data.std)
        >>> v = views(images)  # images: B x C x S x S uint8 or float in [0, 1]
        >>> len(v), v[0].shape  # sum of num_crops, B x C x crop x crop
    """

    def __init__(self, augmentations: Sequence[Any], mean: Sequence[float],
                 std: Sequence[float]) -> None:
        crop_size_of(augmentations)
        aug = [OmegaConf.create(a) if not isinstance(a, DictConfig) else a
               for a in augmentations]
        self.pipelines = [_Pipeline(a) for a in aug]
        self.normalize = _Normalize(mean, std)

    @property
    def num_views(self) -> int:
        return sum(p.num_crops for p in self.pipelines)

    def __call__(self, images: torch.Tensor) -> list[torch.Tensor]:
        x = _to_unit(images)
        return [self.normalize(p(x)) for p in self.pipelines for _ in range(p.num_crops)]


class EvalView:
    """The un-augmented view: centre crop to the training crop size, then normalize."""

    def __init__(self, crop_size: int, mean: Sequence[float], std: Sequence[float]) -> None:
        self.crop = crop_size
        self.normalize = _Normalize(mean, std)

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        x = _to_unit(images)
        h, w = x.shape[-2:]
        if (h, w) != (self.crop, self.crop):
            if min(h, w) < self.crop:
                x = F.interpolate(x, size=(self.crop, self.crop), mode="bilinear",
                                  antialias=True, align_corners=False)
            else:
                top, left = (h - self.crop) // 2, (w - self.crop) // 2
                x = x[..., top:top + self.crop, left:left + self.crop]
        return self.normalize(x)
