"""solo-learn's own scripts/pretrain/cifar/vicreg.yaml runs unchanged (tiny fake CIFAR)."""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import numpy as np
from PIL import Image

from sweeper.cli import main

HERE = Path(__file__).resolve().parent / "solo_learn"
# sha256 of the file as published by solo-learn (commit e74719b); the test fails if edited
VICREG_SHA256 = "e157c2482887b5eceeeaff0885ce03bf07abb1c4dc873a75d6931823b765c24a"


def _fake_cifar(root: Path, classes: int = 3, per_class: int = 12) -> Path:
    rng = np.random.default_rng(0)
    for c in range(classes):
        folder = root / f"class{c}"
        folder.mkdir(parents=True)
        for i in range(per_class):
            pixels = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(folder / f"{i}.png")
    return root


def test_the_file_is_solo_learns_own() -> None:
    text = (HERE / "vicreg.yaml").read_bytes()
    assert hashlib.sha256(text).hexdigest() == VICREG_SHA256


def test_solo_learn_vicreg_yaml_runs_unchanged(tmp_path: Path) -> None:
    data = _fake_cifar(tmp_path / "cifar")
    run_dir = tmp_path / "run"
    code = main([
        "train",
        "--config-path", str(HERE), "--config-name", "vicreg",
        f"data.train_path={data}", f"hydra.run.dir={run_dir}",
        # a CPU smoke run of the GPU recipe
        "accelerator=cpu", "devices=1", "strategy=auto", "precision=32",
        "sync_batchnorm=false", "max_epochs=1", "optimizer.batch_size=8",
        "data.num_workers=0", "+limit_train_batches=2", "+monitor.bank_size=16",
        "method_kwargs.proj_hidden_dim=128", "method_kwargs.proj_output_dim=128",
    ])
    assert code == 0
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["status"] == "completed" and metrics["method"] == "vicreg"
    assert metrics["global_step"] == 2 and math.isfinite(metrics["rankme"])
    assert (run_dir / "trained_models" / "last.ckpt").is_file()  # solo-learn's checkpoint.dir
    saved = (run_dir / "config.yaml").read_text()
    assert "var_loss_weight: 25.0" in saved and "eta: 0.02" in saved
