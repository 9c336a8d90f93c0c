"""The cheaper oracle (issue 21) gives the reference oracle's answers.

The warm-started final probe against a cold one, the blocked kNN against one block, the
folded channels-last backbone against the loaded one, and each checkpoint embedded once,
counted on a real 1-epoch digits training.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from sweeper.config import compose_config
from sweeper.oracle import OracleSettings, choose_settings, evaluate_features
from sweeper.oracle.feature_cache import cached_features
from sweeper.oracle.knn import knn_accuracies
from sweeper.oracle.probe import LinearProbe
from sweeper.ssl import train
from sweeper.ssl.backbones.cnn import DigitsCNN
from sweeper.ssl.features import extract_features, load_backbone
from sweeper.ssl.inference import fold_batchnorm, inference_backbone, to_input_layout

SETTINGS = OracleSettings(weight_decays=(1e-2, 1e-3, 1e-4), knn_ks=(1, 5, 20),
                          val_fraction=0.2, seed=0, max_iter=100, device="cpu")


def test_warm_started_refit_keeps_the_cold_refits_accuracy() -> None:
    x, y = load_digits(return_X_y=True)
    x = x.astype(np.float32)
    train, test = (x[:1000], y[:1000]), (x[1000:], y[1000:])
    new = evaluate_features(train, test, SETTINGS)
    # the reference (the oracle before issue 21): the same choice, the final fit from zero
    choice = choose_settings(train, SETTINGS)
    cold = LinearProbe(choice.weight_decay, SETTINGS.max_iter, device="cpu").fit(*train)
    assert new.weight_decay == choice.weight_decay
    assert new.val_acc == choice.val_acc
    assert abs(new.test_acc - cold.accuracy(*test)) <= 0.002


def test_blocked_knn_equals_one_block_exactly() -> None:
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(300, 12)).astype(np.float32), rng.integers(0, 4, 300)
    q, qy = rng.normal(size=(97, 12)).astype(np.float32), rng.integers(0, 4, 97)
    whole = knn_accuracies(x, y, q, qy, [1, 5, 20], chunk=10_000, device="cpu")
    for chunk in (1, 7, 64):
        assert knn_accuracies(x, y, q, qy, [1, 5, 20], chunk=chunk, device="cpu") == whole


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A real 1-epoch SimCLR training on digits (its BatchNorms hold running statistics)."""
    run_dir = tmp_path_factory.mktemp("speed_run")
    cfg = compose_config(["method_kwargs.proj_hidden_dim=64", "method_kwargs.proj_output_dim=32",
                          "max_epochs=1", "limit_train_batches=3", "monitor.enabled=false"])
    train(cfg, run_dir)
    ckpt = max(run_dir.glob("checkpoints/*.ckpt"), key=lambda p: p.stat().st_mtime)
    return {"run_dir": Path(run_dir), "ckpt": ckpt, "cfg": cfg}


def test_folded_channels_last_backbone_gives_the_same_features(
        digits_run: dict[str, Any]) -> None:
    net, _ = load_backbone(digits_run["ckpt"], digits_run["cfg"])
    assert any(isinstance(m, torch.nn.BatchNorm2d) and m.running_var is not None
               and not torch.allclose(m.running_var, torch.ones_like(m.running_var))
               for m in net.modules())  # trained statistics: folding is not a no-op
    fast = inference_backbone(net)
    assert fold_batchnorm(fast) == 0  # all folded already
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in fast.modules())
    images = torch.rand(64, 1, 8, 8)
    with torch.no_grad():
        want, got = net(images), fast(to_input_layout(images))
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
    a = extract_features(digits_run["ckpt"], digits_run["cfg"], splits=("val",), fast=False)
    b = extract_features(digits_run["ckpt"], digits_run["cfg"], splits=("val",))
    np.testing.assert_allclose(b["val"][0], a["val"][0], rtol=1e-4, atol=1e-5)


def test_each_checkpoint_is_embedded_once(digits_run: dict[str, Any]) -> None:
    seen: list[int] = []

    def count(module: torch.nn.Module, inputs: tuple[torch.Tensor, ...], _: Any) -> None:
        if isinstance(module, DigitsCNN):  # the backbone itself, not its layers
            seen.append(int(inputs[0].shape[0]))

    run_dir, ckpt, cfg = digits_run["run_dir"], digits_run["ckpt"], digits_run["cfg"]
    hook = torch.nn.modules.module.register_module_forward_hook(count)
    try:
        first = cached_features(run_dir, ckpt, cfg, "digits", ("train", "test"))
        embedded = sum(seen)
        again = cached_features(run_dir, ckpt, cfg, "digits", ("test", "train"))
    finally:
        hook.remove()
    n_rows = first["train"][0].shape[0] + first["test"][0].shape[0]
    assert n_rows > 0
    assert embedded == n_rows  # one forward pass per image of both splits
    assert sum(seen) == n_rows  # the second call embeds nothing: the cache answers it
    for split in ("train", "test"):
        np.testing.assert_array_equal(again[split][0], first[split][0])
