"""Augmented views made in batches on the training device, drawn as solo-learn draws them.

Each entry of ``augmentations`` (solo-learn's schema) is a pipeline making ``num_crops``
views of ``crop_size`` px, in solo-learn's order: a random resized crop (torchvision's
sampler: area in ``[crop_min_scale, crop_max_scale]``, aspect ratio in [3/4, 4/3], 10 tries
then the centre; PIL's bicubic resize) or, with ``rrc.enabled: false``, a bicubic resize;
colour jitter (torchvision's ``ColorJitter``: brightness, contrast, saturation and hue
factors drawn per image and applied in a random order per image, hue in PIL's 8-bit HSV);
grayscale; Gaussian blur (sigma uniform in [0.1, 2] pixels, PIL's ``GaussianBlur``);
solarization; equalization; horizontal flip; then ``/ 255`` and normalization. Every step
computes what PIL computes on 8-bit images (:mod:`sweeper.ssl.data.pil_ops`, tested against
PIL and torchvision), on a whole batch, on the images' device, with torch's RNG.

As in solo-learn, an operation runs with its ``prob`` (``enabled`` is read only for
``rrc``); an entry that says ``enabled: false`` with a ``prob`` above 0 is refused as
ambiguous. ``mean``/``std`` in an entry override the dataset's (solo-learn reads them for a
custom dataset).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from omegaconf import DictConfig, OmegaConf

from sweeper.ssl.data import pil_ops as ops

__all__ = ["BatchViews", "EvalView", "crop_size_of"]

# solo-learn's datasets with fixed normalization numbers (the rest: an entry's mean/std)
SOLO_NORMALIZED = ("cifar10", "cifar100", "stl10", "imagenet100", "imagenet")
_PROB_OPS = ("color_jitter", "grayscale", "gaussian_blur", "solarization", "equalization",
             "horizontal_flip")
BLUR_SIGMA = (0.1, 2.0)  # solo-learn's GaussianBlur default, in pixels
RATIO = (3 / 4, 4 / 3)  # torchvision's RandomResizedCrop default, which solo-learn keeps


def crop_size_of(augmentations: Sequence[Any]) -> int:
    """The view size: the first pipeline's ``crop_size``.

    Raises:
        ValueError: if there is no pipeline.
    """
    if not augmentations:
        raise ValueError("augmentations is empty: give at least one view pipeline")
    return int(augmentations[0].crop_size)


def _to_8bit(x: torch.Tensor) -> torch.Tensor:
    """Whole numbers in [0, 255] as float: uint8 as is, float in [0, 1] rounded."""
    if x.dtype == torch.uint8:
        return x.float()
    return torch.floor(x.float().clamp(0, 1) * 255 + 0.5)


def _prob(cfg: Any, name: str, where: str) -> float:
    node = cfg.get(name) if cfg is not None else None
    if node is None:
        return 0.0
    prob = float(node.get("prob") or 0.0)
    if not 0.0 <= prob <= 1.0:
        raise ValueError(f"{where}.{name}.prob must be in [0, 1], got {prob}")
    if node.get("enabled", True) is False and prob > 0:
        raise ValueError(
            f"{where}.{name}: enabled is false but prob is {prob}; solo-learn ignores "
            f"`enabled` here and applies it with prob {prob}: set prob: 0.0 to turn it off, "
            "or remove `enabled`")
    return prob


def _uniform(n: int, low: float, high: float, device: torch.device) -> torch.Tensor:
    return torch.empty(n, device=device).uniform_(low, high)


class _Pipeline:
    def __init__(self, cfg: DictConfig, index: int, mean: Sequence[float],
                 std: Sequence[float], own_normalization: bool = True) -> None:
        where = f"augmentations[{index}]"
        self.crop = int(cfg.crop_size)
        self.num_crops = int(cfg.get("num_crops", 1))
        rrc = cfg.get("rrc")
        self.rrc = bool(rrc is not None and rrc.get("enabled", True))
        self.scale = ((float(rrc.crop_min_scale), float(rrc.crop_max_scale)) if self.rrc
                      else (1.0, 1.0))
        self.p = {name: _prob(cfg, name, where) for name in _PROB_OPS}
        cj = cfg.get("color_jitter") or {}
        self.jitter = {k: float(cj.get(k, 0.0) or 0.0)
                       for k in ("brightness", "contrast", "saturation", "hue")}
        if not 0.0 <= self.jitter["hue"] <= 0.5:
            raise ValueError(f"{where}.color_jitter.hue must be in [0, 0.5], got "
                             f"{self.jitter['hue']}")
        norm = cfg if own_normalization else {}
        self.mean = torch.tensor(list(norm.get("mean", mean))).view(1, -1, 1, 1)
        self.std = torch.tensor(list(norm.get("std", std))).view(1, -1, 1, 1)

    def _hit(self, x: torch.Tensor, name: str) -> torch.Tensor:
        """Indices of the images an op with ``self.p[name]`` applies to."""
        return (torch.rand(x.shape[0], device=x.device) < self.p[name]).nonzero().squeeze(1)

    def geometry(self, x: torch.Tensor) -> torch.Tensor:
        b, _, h, w = x.shape
        if self.rrc:
            top, left, hh, ww = ops.crop_boxes(b, h, w, self.scale, RATIO, device=x.device)
        else:  # Resize(crop_size): the whole (square) image
            top = left = torch.zeros(b, dtype=torch.long, device=x.device)
            hh = torch.full((b,), h, device=x.device)
            ww = torch.full((b,), w, device=x.device)
        flip = torch.rand(b, device=x.device) < self.p["horizontal_flip"]
        return ops.resized_crop(x, top, left, hh, ww, self.crop, flip=flip)

    def color_jitter(self, x: torch.Tensor) -> torch.Tensor:
        idx = self._hit(x, "color_jitter")
        if idx.numel() == 0:
            return x
        y, n, dev = x[idx], idx.numel(), x.device
        j = self.jitter
        factors: list[tuple[Any, torch.Tensor | None]] = [
            (ops.brightness, _uniform(n, max(0.0, 1 - j["brightness"]), 1 + j["brightness"],
                                      dev) if j["brightness"] > 0 else None),
            (ops.contrast, _uniform(n, max(0.0, 1 - j["contrast"]), 1 + j["contrast"], dev)
             if j["contrast"] > 0 else None),
            (ops.saturation, _uniform(n, max(0.0, 1 - j["saturation"]), 1 + j["saturation"],
                                      dev) if j["saturation"] > 0 and x.shape[1] == 3 else None),
            (ops.hue, _uniform(n, -j["hue"], j["hue"], dev)
             if j["hue"] > 0 and x.shape[1] == 3 else None),
        ]
        order = torch.argsort(torch.rand(n, 4, device=dev), dim=1)  # a permutation per image
        for step in range(4):
            for k, (fn, f) in enumerate(factors):
                if f is None:
                    continue
                sel = (order[:, step] == k).nonzero().squeeze(1)
                if sel.numel():
                    y[sel] = fn(y[sel], f[sel])
        x = x.clone()
        x[idx] = y
        return x

    def _apply(self, x: torch.Tensor, name: str, fn: Any) -> torch.Tensor:
        idx = self._hit(x, name)
        if idx.numel() == 0:
            return x
        x = x.clone()
        x[idx] = fn(x[idx])
        return x

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        x = self.geometry(x)
        x = self.color_jitter(x)
        if x.shape[1] == 3:
            x = self._apply(x, "grayscale", ops.grayscale)
        x = self._apply(x, "gaussian_blur", lambda v: ops.gaussian_blur(
            v, _uniform(v.shape[0], *BLUR_SIGMA, v.device)))
        x = self._apply(x, "solarization", ops.solarize)
        x = self._apply(x, "equalization", ops.equalize)
        if self.mean.device != x.device:
            self.mean, self.std = self.mean.to(x.device), self.std.to(x.device)
        return (x / 255.0 - self.mean) / self.std


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
                 std: Sequence[float], dataset: str = "custom") -> None:
        aug = [OmegaConf.create(a) if not isinstance(a, DictConfig) else a
               for a in augmentations]
        crop_size_of(aug)
        # solo-learn normalizes its five named datasets with their own numbers and reads an
        # entry's mean/std only for other (custom) data (pretrain_dataloader.py, MEANS_N_STD)
        own = dataset not in SOLO_NORMALIZED
        for i, a in enumerate(aug):
            keys = [k for k in ("mean", "std") if k in a]
            if keys and not own:
                warnings.warn(f"augmentations[{i}].{'/'.join(keys)} not applied: for dataset "
                              f"{dataset!r} the views use data.mean and data.std (solo-learn "
                              "reads an entry's mean/std only for custom data)", stacklevel=2)
        self.pipelines = [_Pipeline(a, i, mean, std, own) for i, a in enumerate(aug)]

    @property
    def num_views(self) -> int:
        return sum(p.num_crops for p in self.pipelines)

    def __call__(self, images: torch.Tensor) -> list[torch.Tensor]:
        # The views are data: in float32 even where the caller (a mixed-precision training
        # step) runs under autocast, which would turn the crops' matmuls into fp16/bf16.
        with torch.autocast(images.device.type, enabled=False):
            x = _to_8bit(images)
            return [p(x) for p in self.pipelines for _ in range(p.num_crops)]


class EvalView:
    """The un-augmented view: centre crop to the training crop size, then normalize."""

    def __init__(self, crop_size: int, mean: Sequence[float], std: Sequence[float]) -> None:
        self.crop = crop_size
        self.normalize = _Normalize(mean, std)

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        x = images.float().div(255.0) if images.dtype == torch.uint8 else images.float()
        h, w = x.shape[-2:]
        if (h, w) != (self.crop, self.crop):
            if min(h, w) < self.crop:
                x = F.interpolate(x, size=(self.crop, self.crop), mode="bicubic",
                                  antialias=True, align_corners=False).clamp(0, 1)
            else:
                top, left = (h - self.crop) // 2, (w - self.crop) // 2
                x = x[..., top:top + self.crop, left:left + self.crop]
        return self.normalize(x)

