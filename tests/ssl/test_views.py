"""Batched views: the crop/flip geometry, value ranges, and the digits pipeline."""

from __future__ import annotations

import pytest
import torch
from omegaconf import OmegaConf

from sweeper.config import compose_config
from sweeper.ssl.data.views import BatchViews, EvalView


def _pipeline(**changes: object) -> list[object]:
    base = {"rrc": {"enabled": True, "crop_min_scale": 1.0, "crop_max_scale": 1.0},
            "color_jitter": {"prob": 0.0, "brightness": 0.4, "contrast": 0.4,
                             "saturation": 0.2, "hue": 0.1},
            "grayscale": {"prob": 0.0}, "gaussian_blur": {"prob": 0.0},
            "solarization": {"prob": 0.0}, "equalization": {"prob": 0.0},
            "horizontal_flip": {"prob": 0.0}, "crop_size": 16, "num_crops": 2}
    return [OmegaConf.merge(OmegaConf.create(base), OmegaConf.create(changes))]


def test_a_full_crop_without_jitter_is_the_normalized_image() -> None:
    torch.manual_seed(0)
    images = torch.randint(0, 256, (4, 3, 16, 16), dtype=torch.uint8)
    expected = (images.float() / 255 - 0.5) / 0.25
    out = BatchViews(_pipeline(rrc={"enabled": False}), [0.5] * 3, [0.25] * 3)(images)
    assert len(out) == 2
    for v in out:
        torch.testing.assert_close(v, expected, atol=1e-4, rtol=0)


def test_a_certain_flip_mirrors_the_image() -> None:
    images = torch.randint(0, 256, (2, 1, 8, 8), dtype=torch.uint8)
    flipped = BatchViews(_pipeline(rrc={"enabled": False}, horizontal_flip={"prob": 1.0},
                                   crop_size=8), [0.0], [1.0])(images)[0]
    torch.testing.assert_close(flipped, images.flip(-1).float() / 255, atol=1e-6, rtol=0)


def test_float_images_are_read_as_8_bit_pixels() -> None:
    images = torch.rand(2, 1, 8, 8)
    out = BatchViews(_pipeline(rrc={"enabled": False}, crop_size=8), [0.0], [1.0])(images)[0]
    torch.testing.assert_close(out, torch.floor(images * 255 + 0.5) / 255, atol=1e-6, rtol=0)


def test_jitter_blur_and_solarization_keep_pixels_in_range() -> None:
    torch.manual_seed(0)
    images = torch.randint(0, 256, (8, 3, 32, 32), dtype=torch.uint8)
    views = BatchViews(_pipeline(rrc={"crop_min_scale": 0.2}, crop_size=24,
                                 color_jitter={"prob": 1.0}, grayscale={"prob": 0.5},
                                 gaussian_blur={"prob": 1.0}, solarization={"prob": 0.5}),
                       [0.0] * 3, [1.0] * 3)
    for v in views(images):
        assert v.shape == (8, 3, 24, 24)
        assert float(v.min()) >= 0.0 and float(v.max()) <= 1.0
        assert torch.isfinite(v).all()


def test_the_digits_views_differ_from_each_other_and_keep_the_size() -> None:
    cfg = compose_config(["data=digits"])
    views = BatchViews(cfg.augmentations, cfg.data.mean, cfg.data.std)
    images = torch.rand(16, 1, 8, 8)
    a, b = views(images)
    assert a.shape == b.shape == (16, 1, 8, 8) and not torch.equal(a, b)
    ev = EvalView(8, cfg.data.mean, cfg.data.std)(images)
    torch.testing.assert_close(ev, (images - 0.3053) / 0.3760)


def test_an_op_switched_off_with_a_positive_prob_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match=r"augmentations\[0\].gaussian_blur: enabled is false "
                                         r"but prob is 0.5"):
        BatchViews(_pipeline(gaussian_blur={"enabled": False, "prob": 0.5}), [0.0], [1.0])


def test_a_prob_outside_zero_one_is_refused() -> None:
    with pytest.raises(ValueError, match=r"grayscale.prob must be in \[0, 1\], got 1.5"):
        BatchViews(_pipeline(grayscale={"prob": 1.5}), [0.0], [1.0])


def test_equalization_runs_and_keeps_the_pixels_8_bit() -> None:
    torch.manual_seed(0)
    images = torch.randint(0, 256, (4, 3, 16, 16), dtype=torch.uint8)
    out = BatchViews(_pipeline(equalization={"prob": 1.0}), [0.0] * 3, [1.0] * 3)(images)[0]
    torch.testing.assert_close(out * 255, torch.round(out * 255), atol=1e-3, rtol=0)
    assert float(out.max()) <= 1.0


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_views_stay_float32_and_equal_under_a_mixed_precision_autocast(
        dtype: torch.dtype) -> None:
    # A 16-mixed or bf16-mixed training step runs under autocast; the views (CIFAR-10's
    # pipeline: crops, jitter, grayscale, solarization) must be the same pixels as without it.
    cfg = compose_config(["data=cifar10"])
    views = BatchViews(cfg.augmentations, cfg.data.mean, cfg.data.std)
    x = torch.randint(0, 256, (64, 3, 32, 32), dtype=torch.uint8)
    torch.manual_seed(0)
    plain = views(x)
    torch.manual_seed(0)
    with torch.autocast("cpu", dtype=dtype):
        mixed = views(x)
    assert [v.dtype for v in mixed] == [torch.float32] * len(plain)
    assert all(torch.equal(a, b) for a, b in zip(plain, mixed, strict=True))
