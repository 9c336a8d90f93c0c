"""Scoring checkpoints and writing their frozen features; checkpoints are data, never code."""

from __future__ import annotations

import json
import pathlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from sweeper.config import compose_config
from sweeper.ssl.checkpoints import backbone_state, load_checkpoint
from sweeper.ssl.features import extract_features
from tests.cli import run_cli


def test_score_a_checkpoint_and_save_its_features(trained_run: dict[str, Any],
                                                  tmp_path: Path) -> None:
    ckpt = trained_run["run_dir"] / "checkpoints" / "last.ckpt"
    done = run_cli("score", str(ckpt), "data=digits", "--save-features", str(tmp_path), "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    # the monitor's bank is the whole digits train split here: the same RankMe
    assert result["rankme"] == pytest.approx(trained_run["metrics"]["rankme"], rel=1e-6)
    sizes = {}
    for split in ("train", "val", "test"):
        with np.load(tmp_path / f"{split}.npz") as npz:
            assert npz["features"].dtype == np.float32 and npz["labels"].dtype == np.int64
            assert npz["features"].shape == (npz["labels"].shape[0], 128)
            sizes[split] = npz["labels"].shape[0]
    assert sizes == {"train": 1077, "val": 360, "test": 360}


def test_a_solo_learn_style_checkpoint_gives_the_same_features(trained_run: dict[str, Any],
                                                               tmp_path: Path) -> None:
    ours = trained_run["run_dir"] / "checkpoints" / "last.ckpt"
    state = backbone_state(load_checkpoint(ours))
    solo = tmp_path / "solo.ckpt"
    torch.save({"state_dict": {f"backbone.{k}": v for k, v in state.items()}}, solo)
    cfg = compose_config(["data=digits"])
    a = extract_features(ours, cfg, splits=("val",))["val"]
    b = extract_features(solo, cfg, splits=("val",))["val"]
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


class _RunsCode:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (pathlib.Path.touch, (self.marker,))


def test_a_checkpoint_that_needs_unpickling_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "code-ran"
    bad = tmp_path / "bad.ckpt"
    torch.save({"state_dict": {"backbone.w": torch.zeros(1)}, "extra": _RunsCode(marker)}, bad)
    done = run_cli("score", str(bad), "data=digits")
    assert done.returncode == 2
    assert "needs arbitrary unpickling" in done.stderr and "Traceback" not in done.stderr
    assert not marker.exists()
    with pytest.raises(ValueError, match="a checkpoint is data, never code"):
        load_checkpoint(bad)
