"""solo-learn data keys with a meaning that depends on the dataset: an augmentation entry's
``mean``/``std`` (read only for custom data, solo/data/pretrain_dataloader.py's MEANS_N_STD
at commit 9187ea3) and ``data.no_labels`` (read only for custom image folders)."""

from __future__ import annotations

import warnings

import pytest
import torch
from omegaconf import OmegaConf

from sweeper.ssl.build import build_parts
from sweeper.ssl.data.views import BatchViews
from tests.ssl.conftest import digits_cfg

DATA_MEAN, DATA_STD = [0.4914, 0.4822, 0.4465], [0.247, 0.243, 0.261]
OWN_MEAN, OWN_STD = [0.5, 0.5, 0.5], [0.25, 0.25, 0.25]


def _entry() -> dict:
    return {"crop_size": 32, "num_crops": 2, "rrc": {"enabled": True, "crop_min_scale": 0.2,
                                                     "crop_max_scale": 1.0},
            "mean": OWN_MEAN, "std": OWN_STD}


def _norm(views: BatchViews) -> list[float]:
    p = views.pipelines[0]
    return [*p.mean.flatten().tolist(), *p.std.flatten().tolist()]


def test_an_entrys_mean_and_std_apply_to_custom_data_only() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # custom data: no warning
        custom = BatchViews([_entry()], DATA_MEAN, DATA_STD, "custom")
    assert _norm(custom) == pytest.approx(OWN_MEAN + OWN_STD)
    with pytest.warns(UserWarning, match=r"augmentations\[0\]\.mean/std not applied: for "
                                         r"dataset 'cifar10' the views use data\.mean"):
        cifar = BatchViews([_entry()], DATA_MEAN, DATA_STD, "cifar10")
    assert _norm(cifar) == pytest.approx(DATA_MEAN + DATA_STD)
    x = torch.full((2, 3, 32, 32), 128, dtype=torch.uint8)
    torch.manual_seed(0)
    a = cifar(x)[0]
    torch.manual_seed(0)
    b = custom(x)[0]
    assert not torch.allclose(a, b)  # the normalization the views really get differs


def test_no_labels_on_a_named_dataset_is_warned_by_name() -> None:
    cfg = digits_cfg("data.no_labels=true")
    with pytest.warns(UserWarning, match=r"data\.no_labels=true is not read for dataset "
                                         r"'digits'"):
        build_parts(cfg)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        OmegaConf.update(cfg, "data.no_labels", False)
        parts = build_parts(cfg)
    assert len(parts.train_set) > 0
