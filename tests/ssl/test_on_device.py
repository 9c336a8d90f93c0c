"""Training images held on the device (``data.on_device``): the same batches and the same
training as the loader, and the key's checks."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from lightning.fabric.utilities.data import _set_sampler_epoch

from sweeper.schema import ConfigError
from sweeper.ssl import train
from sweeper.ssl.build import checked_config
from sweeper.ssl.data.datasets import digits_split
from sweeper.ssl.data.images import FolderImages, TensorImages
from sweeper.ssl.data.loader import EpochBatchSampler, make_loader
from sweeper.ssl.data.on_device import DeviceBatches, check_held, use_on_device
from tests.ssl.conftest import digits_cfg

CPU = torch.device("cpu")


def _digits() -> TensorImages:
    return TensorImages(*digits_split(0, 0.2, 0.2)["train"])


@pytest.mark.parametrize("sample_ids", [False, True])
def test_device_batches_equal_the_loaders(sample_ids: bool) -> None:
    """For a seed, epoch after epoch: the same indices, pixels and labels as the loader, and
    the global random stream (the views') left where the loader's iterator leaves it."""
    ds = _digits()
    sampler = EpochBatchSampler(len(ds), 100, seed=3)
    loader = make_loader(ds, sampler, sample_ids=sample_ids)
    on = DeviceBatches(ds, EpochBatchSampler(len(ds), 100, seed=3), CPU, sample_ids=sample_ids)
    assert len(on) == len(loader) == len(ds) // 100
    for epoch in (0, 1):
        _set_sampler_epoch(loader, epoch)  # as Lightning reaches each sampler
        _set_sampler_epoch(on, epoch)
        torch.manual_seed(epoch)
        want = [tuple(t.clone() for t in b) for b in loader]
        after_loader = torch.rand(3)
        torch.manual_seed(epoch)
        got = list(on)
        assert torch.equal(torch.rand(3), after_loader)
        assert len(got) == len(want) > 0
        for g, w in zip(got, want, strict=True):
            assert len(g) == len(w) == (3 if sample_ids else 2)
            for a, b in zip(g, w, strict=True):
                assert a.dtype == b.dtype and torch.equal(a, b)
    first = [b[0] for b in DeviceBatches(ds, EpochBatchSampler(len(ds), 100, seed=3), CPU)]
    assert not torch.equal(first[0], got[0][0])  # epoch 1's order is not epoch 0's


def _weights(run_dir: Path) -> dict[str, torch.Tensor]:
    ckpt = torch.load(run_dir / "checkpoints" / "last.ckpt", map_location="cpu",
                      weights_only=False)
    return ckpt["state_dict"]


def test_one_epoch_trains_to_identical_weights(tmp_path: Path) -> None:
    """A digits epoch from device-held images ends with the loader run's weights, bit for
    bit, and the same RankMe."""
    runs = {}
    for key in ("true", "false"):
        cfg = digits_cfg("max_epochs=1", f"data.on_device={key}", "monitor.bank_size=256",
                         "monitor.objective_bank_size=256")
        runs[key] = (train(cfg, tmp_path / key), _weights(tmp_path / key))
    (m_on, w_on), (m_off, w_off) = runs["true"], runs["false"]
    assert m_on["global_step"] == m_off["global_step"] > 0
    assert w_on.keys() == w_off.keys()
    for name in w_on:
        assert torch.equal(w_on[name], w_off[name]), name
    assert m_on["rankme"] == m_off["rankme"]


def test_auto_is_off_on_the_cpu_and_for_files(tmp_path: Path) -> None:
    cfg = checked_config(digits_cfg())
    ds = _digits()
    assert cfg.data.on_device == "auto"
    assert not use_on_device(cfg.data, ds, CPU)  # auto: CUDA only
    assert use_on_device(digits_cfg("data.on_device=true").data, ds, CPU)
    assert not use_on_device(digits_cfg("data.on_device=false").data, ds, CPU)
    files = FolderImages([tmp_path / "a.png"], [0], 8, 1)
    assert not use_on_device(cfg.data, files, CPU)
    for check in (lambda d: use_on_device(d, files, CPU), lambda d: check_held(d, files)):
        with pytest.raises(ConfigError, match=r"data.on_device=true: .* image files"):
            check(digits_cfg("data.on_device=true").data)


def test_a_bad_value_is_refused_by_name() -> None:
    with pytest.raises(ConfigError, match=r"data.on_device='gpu' .* auto, true, false"):
        checked_config(digits_cfg("data.on_device=gpu"))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_batches_equal_the_loaders_and_auto_holds_cifar_size_sets() -> None:
    ds = _digits()
    on = DeviceBatches(ds, EpochBatchSampler(len(ds), 100, seed=3), torch.device("cuda"))
    loader = make_loader(ds, EpochBatchSampler(len(ds), 100, seed=3), pin_memory=True)
    for (x, y), (a, b) in zip(on, loader, strict=True):
        assert x.is_cuda and torch.equal(x.cpu(), a) and torch.equal(y.cpu(), b)
    cifar_size = TensorImages(torch.zeros(50_000, 3, 32, 32, dtype=torch.uint8),
                              torch.zeros(50_000, dtype=torch.long))
    assert use_on_device(checked_config(digits_cfg()).data, cifar_size, torch.device("cuda"))
