"""auto_resume is exact: 1 epoch, an interruption, then a resume to epoch 2 ends with the
same weights (EMA teachers and DINO's centre included), the same optimizer state (LARS
momentum buffers, lr) and the same schedule as 2 uninterrupted epochs. One CPU thread makes
the training reproducible bit for bit, so anything else than equality is lost state."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from omegaconf import DictConfig

from sweeper.ssl import train
from sweeper.ssl.checkpoints import load_checkpoint
from tests.ssl.conftest import digits_cfg

SMALL = {"byol": ["method_kwargs.pred_hidden_dim=64"],
         "dino": ["method_kwargs.num_prototypes=64"]}


@pytest.fixture(autouse=True)
def _keep_threads() -> Iterator[None]:
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)  # train() sets num_threads=1 for the whole process


def _cfg(method: str, random_views: bool) -> DictConfig:
    cfg = digits_cfg(f"method={method}", *SMALL.get(method, []), "max_epochs=2",
                     "limit_train_batches=2", "num_threads=1", "monitor.bank_size=64",
                     "auto_resume.enabled=true")
    if not random_views:  # the identity crop, no jitter: views draw nothing random
        cfg.augmentations[0].rrc.enabled = False
        cfg.augmentations[0].color_jitter.prob = 0.0
    return cfg


def _whole_and_resumed(method: str, random_views: bool, tmp_path: Path
                       ) -> tuple[dict[str, Any], dict[str, Any]]:
    train(_cfg(method, random_views), tmp_path / "whole")

    def interrupt(epoch: int, metrics: dict[str, float]) -> None:
        if epoch == 2:  # after epoch 2 trained, before its checkpoint
            raise RuntimeError("node lost")

    with pytest.raises(RuntimeError, match="node lost"):
        train(_cfg(method, random_views), tmp_path / "resumed", on_monitor=interrupt)
    assert load_checkpoint(tmp_path / "resumed" / "checkpoints" / "last.ckpt")["epoch"] == 0
    train(_cfg(method, random_views), tmp_path / "resumed")
    whole, resumed = (load_checkpoint(tmp_path / run / "checkpoints" / "last.ckpt")
                      for run in ("whole", "resumed"))
    return whole, resumed


def _assert_same_state(whole: dict[str, Any], resumed: dict[str, Any]) -> None:
    assert (whole["epoch"], whole["global_step"]) == (resumed["epoch"], resumed["global_step"])
    assert whole["state_dict"].keys() == resumed["state_dict"].keys()
    for key, value in whole["state_dict"].items():
        assert torch.allclose(resumed["state_dict"][key], value, rtol=0, atol=1e-6), key
    opt_w, opt_r = whole["optimizer_states"][0], resumed["optimizer_states"][0]
    assert opt_w["param_groups"] == opt_r["param_groups"]  # lr, momentum, weight decay
    assert opt_w["state"].keys() == opt_r["state"].keys()
    for i, state in opt_w["state"].items():
        torch.testing.assert_close(opt_r["state"][i]["momentum_buffer"],
                                   state["momentum_buffer"], rtol=0, atol=1e-6)
    assert whole["lr_schedulers"] == resumed["lr_schedulers"]


def test_resume_with_fixed_views_is_exact(tmp_path: Path) -> None:
    _assert_same_state(*_whole_and_resumed("simclr", False, tmp_path))


@pytest.mark.parametrize("method", ["simclr", "byol", "dino"])
def test_resume_with_random_views_is_exact(method: str, tmp_path: Path) -> None:
    _assert_same_state(*_whole_and_resumed(method, True, tmp_path))
