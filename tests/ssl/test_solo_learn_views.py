"""Views drawn as solo-learn draws them: each operation against PIL / torchvision outputs
kept as fixtures, and whole pipelines against statistics of solo-learn's own pipeline.

The fixtures (``solo_learn/augment.json``, ``augment.npz``) were computed once by running
solo-learn's ``build_transform_pipeline`` and the torchvision/PIL calls it makes (the commit
is in the json) on the first training image of each CIFAR-10 class.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from sweeper.ssl.data import pil_ops as ops
from sweeper.ssl.data.views import BatchViews
from tests.ssl.test_image_folders import require_cifar10

HERE = Path(__file__).resolve().parent / "solo_learn"
META: dict[str, Any] = json.loads((HERE / "augment.json").read_text())
# solo-learn's pretraining normalization for cifar10 (solo/data/pretrain_dataloader.py)
MEAN, STD = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)


@pytest.fixture(scope="module")
def images() -> torch.Tensor:
    root = require_cifar10() / "train"
    return torch.stack([torch.from_numpy(np.array(Image.open(root / f).convert("RGB")))
                        .permute(2, 0, 1) for f in META["files"]])


@pytest.fixture(scope="module")
def ref() -> Any:
    return np.load(HERE / "augment.npz")


def _as_nchw(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(a).float().movedim(-1, -3)


def _full(v: float, n: int = 4) -> torch.Tensor:
    return torch.full((n,), float(v))


def test_resized_crops_are_pils_bicubic_pixel_for_pixel(images: torch.Tensor, ref: Any
                                                        ) -> None:
    x = images[:4].float()
    ours = torch.stack([ops.resized_crop(x, _full(i).long(), _full(j).long(), _full(h).long(),
                                         _full(w).long(), 32)
                        for i, j, h, w in META["ops"]["resized_crop"]["boxes"]], 1)
    assert torch.equal(ours, _as_nchw(ref["resized_crop"]))


@pytest.mark.parametrize("name", ["brightness", "contrast", "saturation", "hue"])
def test_colour_jitter_ops_are_torchvisions_on_pil_images(name: str, images: torch.Tensor,
                                                          ref: Any) -> None:
    fn = getattr(ops, name)
    ours = torch.stack([fn(images[:4].float(), _full(f))
                        for f in META["ops"][name]["factors"]], 1)
    assert torch.equal(ours, _as_nchw(ref[name]))


def test_blur_is_pils_gaussian_blur_with_sigma_in_pixels(images: torch.Tensor, ref: Any
                                                         ) -> None:
    ours = torch.stack([ops.gaussian_blur(images[:4].float(), _full(s))
                        for s in META["ops"]["blur"]["sigmas"]], 1)
    assert torch.equal(ours, _as_nchw(ref["blur"]))
    change = (ops.gaussian_blur(images.float(), _full(1.0, 10)) - images.float()).abs()
    np.testing.assert_allclose(change.mean(dim=(1, 2, 3)).numpy() / 255,
                               ref["blur_change_sigma1"], rtol=1e-6)


@pytest.mark.parametrize("name", ["solarize", "grayscale", "equalize"])
def test_solarize_grayscale_and_equalize_are_pils(name: str, images: torch.Tensor, ref: Any
                                                 ) -> None:
    assert torch.equal(getattr(ops, name)(images[:4].float()), _as_nchw(ref[name]))


@pytest.mark.parametrize("low", [0.08, 0.2])
def test_crop_boxes_follow_torchvisions_sampler(low: float) -> None:
    stats = META["stats"][f"rrc_scale_{low}"]
    torch.manual_seed(0)
    n = 100_000
    top, _, h, w = (v.double() for v in ops.crop_boxes(n, 32, 32, (low, 1.0)))
    area, aspect = h * w / 1024, w / h
    for ours, key in ((area, "area_mean"), (aspect, "aspect_mean"), (top, "i_mean")):
        se = (stats[f"{key}_se"] ** 2 + float(ours.std()) ** 2 / n) ** 0.5
        assert abs(float(ours.mean()) - stats[key]) < 4 * se, key
    assert float(area.std()) == pytest.approx(stats["area_std"], rel=0.02)
    assert float(((h == 32) & (w == 32)).double().mean()) == pytest.approx(
        stats["full_image"], abs=0.0015)


@pytest.mark.parametrize("tag", ["color_jitter_only", "blur_only", "rrc_only", "symmetric"])
def test_pipelines_match_solo_learns_statistics(tag: str, images: torch.Tensor) -> None:
    stats = META["stats"][tag]
    draws = 400  # the standard errors of both sides set the tolerance
    torch.manual_seed(0)
    views = BatchViews([stats["augmentation"]], MEAN, STD)
    out = views(images.repeat(draws, 1, 1, 1))[0].view(draws, 10, 3, 32, 32).double()
    per_draw = out.mean(dim=(1, 3, 4))
    pair = (out[0::2] - out[1::2]).abs().mean(dim=(1, 2, 3, 4))
    se = (torch.tensor(stats["channel_mean_se"]) ** 2 + per_draw.std(0) ** 2 / draws).sqrt()
    gap = (per_draw.mean(0) - torch.tensor(stats["channel_mean"])).abs()
    assert (gap < 4 * se + 1e-6).all(), (gap, se)
    se_pair = (stats["view_pair_abs_diff_se"] ** 2 + float(pair.std()) ** 2 / len(pair)) ** 0.5
    assert abs(float(pair.mean()) - stats["view_pair_abs_diff"]) < 4 * se_pair + 1e-6
