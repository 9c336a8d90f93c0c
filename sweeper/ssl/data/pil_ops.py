"""Batched image operations that compute what PIL computes on 8-bit images.

solo-learn's pretraining views are torchvision transforms on PIL images: every operation
reads and writes 8-bit pixels. These functions do the same arithmetic on a whole batch at
once, on any device: ``x`` is a float tensor ``B x C x H x W`` of whole numbers in
[0, 255] (PIL's 8-bit values), and every result is rounded back to whole numbers the way
PIL rounds, so a chain of them follows PIL step by step. Per-image parameters are tensors
of shape ``(B,)``.

Example:
    >>> x = torch.tensor([[[[10.0, 200.0]]]]).expand(1, 3, 1, 2)
    >>> solarize(x)[0, 0].tolist()
    [[10.0, 55.0]]
"""

from __future__ import annotations

import math

import torch

__all__ = ["brightness", "contrast", "crop_boxes", "equalize", "gaussian_blur", "grayscale",
           "hue", "resized_crop", "saturation", "solarize"]


def _col(v: torch.Tensor) -> torch.Tensor:
    return v.reshape(-1, 1, 1, 1)


def _luma(x: torch.Tensor) -> torch.Tensor:
    """PIL's RGB -> L: ``(19595 R + 38470 G + 7471 B + 2^15) >> 16`` (B x 1 x H x W)."""
    if x.shape[1] == 1:
        return x
    r, g, b = x[:, 0:1], x[:, 1:2], x[:, 2:3]
    return torch.floor((r * 19595 + g * 38470 + b * 7471 + 32768) / 65536)


def _blend(base: torch.Tensor, x: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """PIL's ``Image.blend(base, x, factor)``: truncated towards zero, clipped to [0, 255]."""
    return torch.floor(base + _col(factor) * (x - base)).clamp_(0, 255)


def brightness(x: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """``ImageEnhance.Brightness(img).enhance(factor)``: a blend with black."""
    return _blend(torch.zeros_like(x), x, factor)


def contrast(x: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """``ImageEnhance.Contrast``: a blend with the image's mean grey (rounded to 8 bits)."""
    mean = torch.floor(_luma(x).mean(dim=(1, 2, 3), keepdim=True) + 0.5)
    return _blend(mean.expand_as(x), x, factor)


def saturation(x: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """``ImageEnhance.Color``: a blend with the image's greyscale version."""
    return _blend(_luma(x).expand_as(x), x, factor)


def grayscale(x: torch.Tensor) -> torch.Tensor:
    """``img.convert("L")`` copied to every channel (torchvision's RandomGrayscale)."""
    return _luma(x).expand_as(x).clone()


def solarize(x: torch.Tensor, threshold: float = 128.0) -> torch.Tensor:
    """``ImageOps.solarize``: values at or above ``threshold`` become ``255 - value``."""
    return torch.where(x >= threshold, 255.0 - x, x)


def hue(x: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """torchvision's ``adjust_hue`` on a PIL image: RGB -> 8-bit HSV, H shifted by
    ``int8(factor * 255)`` modulo 256, HSV -> RGB, with PIL's float32 / double steps.

    ``factor`` is in [-0.5, 0.5], a fraction of the hue circle.
    """
    f32, f64 = torch.float32, torch.float64
    r, g, b = x[:, 0:1].to(f32), x[:, 1:2].to(f32), x[:, 2:3].to(f32)
    maxc = torch.maximum(torch.maximum(r, g), b)
    minc = torch.minimum(torch.minimum(r, g), b)
    grey = maxc == minc
    cr = torch.where(grey, torch.ones_like(maxc), maxc - minc)
    s = cr / torch.where(maxc == 0, torch.ones_like(maxc), maxc)
    rc, gc, bc = (maxc - r) / cr, (maxc - g) / cr, (maxc - b) / cr
    h = torch.where(r == maxc, (bc - gc).to(f64),
                    torch.where(g == maxc, 2.0 + rc.to(f64) - bc.to(f64),
                                4.0 + gc.to(f64) - rc.to(f64))).to(f32)
    h = torch.fmod(h.to(f64) / 6.0 + 1.0, 1.0).to(f32)
    hq = torch.where(grey, 0.0, torch.trunc(h.to(f64) * 255.0).clamp(0, 255))
    sq = torch.where(grey, 0.0, torch.trunc(s.to(f64) * 255.0).clamp(0, 255))
    shift = torch.trunc(factor.to(f64) * 255.0)  # np.int8(hue_factor * 255), added as uint8
    hq = torch.remainder(hq + shift.reshape(-1, 1, 1, 1), 256.0)
    # PIL's hsv2rgb; C's round() rounds halves away from zero
    i = torch.floor(hq * 6.0 / 255.0)
    f = (hq * 6.0 / 255.0 - i).to(f32)
    fs = (sq / 255.0).to(f32)
    v = maxc.to(f64)
    p = torch.floor(v * (1.0 - fs.to(f64)) + 0.5).clamp(0, 255)
    q = torch.floor(v * (1.0 - (fs * f).to(f64)) + 0.5).clamp(0, 255)
    t = torch.floor(v * (1.0 - fs.to(f64) * (1.0 - f.to(f64))) + 0.5).clamp(0, 255)
    sector = torch.remainder(i, 6.0)
    out = [v.clone(), v.clone(), v.clone()]
    for k, rgb in enumerate([(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)]):
        hit = (sector == k) & (sq != 0)
        out = [torch.where(hit, new, old) for new, old in zip(rgb, out, strict=True)]
    return torch.cat(out, dim=1).to(x.dtype)


def equalize(x: torch.Tensor) -> torch.Tensor:
    """``ImageOps.equalize``: per image and channel, the 8-bit histogram equalized with
    PIL's lookup table (identity when the image has one value or too few pixels)."""
    b, c, h, w = x.shape
    flat = x.reshape(b * c, h * w).long()
    hist = torch.zeros(b * c, 256, dtype=torch.long, device=x.device)
    hist.scatter_add_(1, flat, torch.ones_like(flat))
    nonzero = hist > 0
    last = 255 - torch.flip(nonzero, dims=[1]).long().argmax(dim=1)  # last non-empty bin
    step = (h * w - hist.gather(1, last[:, None]).squeeze(1)) // 255
    before = torch.cumsum(hist, dim=1) - hist  # pixels below each bin
    safe = step.clamp(min=1)[:, None]
    lut = ((step[:, None] // 2 + before) // safe).clamp(0, 255)
    identity = (nonzero.sum(dim=1) <= 1) | (step == 0)
    lut = torch.where(identity[:, None], torch.arange(256, device=x.device).expand_as(lut), lut)
    return lut.gather(1, flat).reshape(b, c, h, w).to(x.dtype)


# ---- Gaussian blur: PIL's extended box blur, 3 passes per axis (BoxBlur.c) ----

def _box_radius(sigma: torch.Tensor, passes: int = 3) -> torch.Tensor:
    """PIL's ``_gaussian_blur_radius`` with its float32 / double steps."""
    f32, f64 = torch.float32, torch.float64
    r = sigma.to(f32)
    sigma2 = r * r / passes
    length = torch.sqrt(12.0 * sigma2.to(f64) + 1.0).to(f32)
    ell = torch.floor((length.to(f64) - 1.0) / 2.0).to(f32)
    a = (2 * ell + 1) * (ell * (ell + 1) - 3 * sigma2)
    a = a / (6 * (sigma2 - (ell + 1) * (ell + 1)))
    return ell + a


def _box_pass(x: torch.Tensor, ell: int, ww: torch.Tensor, fw: torch.Tensor) -> torch.Tensor:
    """One horizontal pass on int64 pixels with integer box radius ``ell``:
    ``(ww * inner + fw * far + 2^23) >> 24``, edge pixels repeated."""
    width = x.shape[-1]
    pad = ell + 1
    shape = (*x.shape[:-1], pad)
    xp = torch.cat([x[..., :1].expand(shape), x, x[..., -1:].expand(shape)], dim=-1)
    inner = xp[..., pad - ell:pad - ell + width]
    for k in range(1 - ell, ell + 1):
        inner = inner + xp[..., pad + k:pad + k + width]
    far = xp[..., :width] + xp[..., 2 * pad:2 * pad + width]
    return (ww.view(-1, 1, 1, 1) * inner + fw.view(-1, 1, 1, 1) * far + (1 << 23)) >> 24


def gaussian_blur(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """``img.filter(ImageFilter.GaussianBlur(radius=sigma))``: sigma in pixels; PIL
    approximates the Gaussian by three passes of an extended box filter per axis, each pass
    rounded to 8 bits, edges repeated."""
    radius = _box_radius(sigma)
    ell = torch.floor(radius).long()
    ww = torch.floor(float(1 << 24) / (radius * 2 + 1)).long()  # float32 division
    fw = ((1 << 24) - (ell * 2 + 1) * ww) // 2
    out = torch.empty_like(x)
    for value in torch.unique(ell).tolist():  # one integer radius at a time
        sel = (ell == value).nonzero().squeeze(1)
        y = x[sel].round().long()
        for _ in range(3):
            y = _box_pass(y, int(value), ww[sel], fw[sel])
        y = y.transpose(-1, -2).contiguous()
        for _ in range(3):
            y = _box_pass(y, int(value), ww[sel], fw[sel])
        out[sel] = y.transpose(-1, -2).to(x.dtype)
    return out


# ---- random resized crop: torchvision's sampler, PIL's bicubic resampling ----

def crop_boxes(n: int, height: int, width: int, scale: tuple[float, float],
               ratio: tuple[float, float] = (3 / 4, 4 / 3), device: torch.device | None = None,
               ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """``n`` crop boxes ``(top, left, h, w)`` drawn as ``RandomResizedCrop.get_params`` draws
    them: up to 10 tries of an area fraction in ``scale`` and a log-uniform aspect ratio in
    ``ratio`` (sides rounded to pixels), the first that fits wins, else the centre crop."""
    tries = 10
    area = height * width
    target = area * torch.empty(n, tries, device=device).uniform_(*scale)
    log_r = torch.empty(n, tries, device=device).uniform_(math.log(ratio[0]), math.log(ratio[1]))
    aspect = torch.exp(log_r)
    w = torch.round(torch.sqrt(target * aspect))
    h = torch.round(torch.sqrt(target / aspect))
    fits = (w > 0) & (w <= width) & (h > 0) & (h <= height)
    first = fits.long().argmax(dim=1)
    ok = fits.any(dim=1)
    w = w.gather(1, first[:, None]).squeeze(1)
    h = h.gather(1, first[:, None]).squeeze(1)
    in_ratio = width / height
    if in_ratio < min(ratio):
        fw_, fh_ = width, round(width / min(ratio))
    elif in_ratio > max(ratio):
        fw_, fh_ = round(height * max(ratio)), height
    else:
        fw_, fh_ = width, height
    w = torch.where(ok, w, torch.full_like(w, fw_))
    h = torch.where(ok, h, torch.full_like(h, fh_))
    top = torch.floor(torch.rand(n, device=device) * (height - h + 1))
    left = torch.floor(torch.rand(n, device=device) * (width - w + 1))
    top = torch.where(ok, top, torch.full_like(top, (height - fh_) // 2))
    left = torch.where(ok, left, torch.full_like(left, (width - fw_) // 2))
    return top.long(), left.long(), h.long(), w.long()


def _bicubic(t: torch.Tensor, a: float = -0.5) -> torch.Tensor:
    t = t.abs()
    near = ((a + 2) * t - (a + 3)) * t * t + 1
    far = (((t - 5) * t + 8) * t - 4) * a
    return torch.where(t < 1, near, torch.where(t < 2, far, torch.zeros_like(t)))


def _resample_matrix(start: torch.Tensor, length: torch.Tensor, in_size: int, out_size: int
                     ) -> torch.Tensor:
    """``B x out x in`` weights of PIL's bicubic resize of ``[start, start + length)`` of
    each row to ``out_size`` samples (support widened when shrinking, weights normalized
    over the pixels inside the crop)."""
    scale = (length.double() / out_size)[:, None, None]
    fscale = scale.clamp(min=1.0)
    centre = (torch.arange(out_size, device=start.device, dtype=torch.float64)[None, :, None]
              + 0.5) * scale
    u = (torch.arange(in_size, device=start.device, dtype=torch.float64)[None, None, :]
         - start.double()[:, None, None])
    inside = (u >= 0) & (u < length.double()[:, None, None])
    weight = _bicubic((u - centre + 0.5) / fscale) * inside
    return weight / weight.sum(dim=-1, keepdim=True).clamp(min=1e-12)


def resized_crop(x: torch.Tensor, top: torch.Tensor, left: torch.Tensor, h: torch.Tensor,
                 w: torch.Tensor, size: int, flip: torch.Tensor | None = None) -> torch.Tensor:
    """``F.resized_crop(img, top, left, h, w, [size, size], BICUBIC)`` on PIL images, then a
    horizontal flip where ``flip`` is true: crop, resize horizontally, round, resize
    vertically, round (PIL's two-pass bicubic with a = -0.5)."""
    height, width = x.shape[-2:]
    wx = _resample_matrix(left, w, width, size).to(x.dtype)
    wy = _resample_matrix(top, h, height, size).to(x.dtype)
    if flip is not None:
        wx = torch.where(flip[:, None, None], wx.flip(1), wx)
    tmp = torch.einsum("bchw,bsw->bchs", x, wx)
    tmp = torch.floor(tmp + 0.5).clamp_(0, 255)
    out = torch.einsum("bchs,bth->bcts", tmp, wy)
    return torch.floor(out + 0.5).clamp_(0, 255)
