"""Every method trains 2 epochs on digits on the CPU, through the real Lightning loop."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from sweeper.ssl import train
from sweeper.ssl.methods import METHODS
from tests.ssl.conftest import digits_cfg

EXTRA = {"byol": ["method_kwargs.pred_hidden_dim=256"],
         "mocov3": ["method_kwargs.pred_hidden_dim=256"],
         "simsiam": ["method_kwargs.pred_hidden_dim=64"],
         "dino": ["method_kwargs.num_prototypes=512"],
         "nnclr": ["method_kwargs.pred_hidden_dim=256", "method_kwargs.queue_size=1024"],
         "nnbyol": ["method_kwargs.pred_hidden_dim=256", "method_kwargs.queue_size=1024"],
         "nnsiam": ["method_kwargs.pred_hidden_dim=256", "method_kwargs.queue_size=1024"],
         "mocov2plus": ["method_kwargs.queue_size=1024"],
         "all4one": ["method_kwargs.pred_hidden_dim=256", "method_kwargs.queue_size=1024"],
         "ressl": ["method_kwargs.queue_size=1024"],
         "swav": ["method_kwargs.num_prototypes=300", "method_kwargs.epoch_queue_starts=1",
                  "method_kwargs.queue_size=512"],
         "deepclusterv2": ["method_kwargs.num_prototypes=[10,10,7]"],
         # ViT-Tiny (patch 4: 4 tokens of an 8x8 digit) and a 1-block decoder
         "mae": ["backbone=vit_tiny", "method_kwargs.decoder_embed_dim=64",
                 "method_kwargs.decoder_depth=1", "method_kwargs.decoder_num_heads=4"],
         # sub-batches that fit the 64-image batch of the mixed-precision check
         "wmse": ["method_kwargs.proj_output_dim=16", "method_kwargs.whitening_size=32"]}

NO_PROJECTOR = {"mae"}  # no proj_* keys for conftest's small heads to shrink


def test_the_registry_holds_the_methods_and_the_refused_ones_say_why() -> None:
    from sweeper.ssl.methods import REFUSED, refusal

    assert set(METHODS) == {"simclr", "vicreg", "byol", "barlow_twins", "mocov3", "dino",
                            "simsiam", "nnclr", "nnbyol", "nnsiam", "mocov2plus", "ressl",
                            "swav", "deepclusterv2", "vibcreg", "wmse", "mae", "all4one"}
    assert set(REFUSED) == {"supcon"}
    assert "needs the class labels" in str(refusal("supcon"))
    assert refusal("simclr") is None


@pytest.mark.parametrize("method", sorted(METHODS))
def test_method_trains_two_epochs_on_digits(method: str, tmp_path: Path) -> None:
    seen: list[int] = []
    cfg = digits_cfg(f"method={method}", *EXTRA.get(method, []),
                     small=method not in NO_PROJECTOR)
    metrics = train(cfg, tmp_path, on_monitor=lambda epoch, m: seen.append(epoch))
    assert metrics["status"] == "completed"
    assert metrics["method"] == method
    assert metrics["epochs"] == 2 and metrics["global_step"] == 2 * (1077 // 256)
    assert math.isfinite(metrics["rankme"]) and metrics["rankme"] > 1
    assert math.isfinite(metrics["rankme_projector"]) and metrics["rankme_projector"] > 1
    assert seen == [1, 2] and [h["epoch"] for h in metrics["history"]] == [1, 2]
    assert (tmp_path / "checkpoints" / "last.ckpt").is_file()
    assert json.loads((tmp_path / "metrics.json").read_text()) == metrics
    assert (tmp_path / "config.yaml").is_file()


def test_ema_methods_move_the_target_toward_the_online_network(tmp_path: Path) -> None:
    import torch

    from sweeper.ssl.checkpoints import load_checkpoint

    train(digits_cfg("method=byol", *EXTRA["byol"], "max_epochs=1"), tmp_path)
    state = load_checkpoint(tmp_path / "checkpoints" / "last.ckpt")["state_dict"]
    online = state["method.projector.0.weight"]  # solo-learn's key layout
    target = state["method.projector_momentum.0.weight"]
    assert not torch.equal(online, target)  # trained online, EMA-lagged target
    assert torch.allclose(online, target, atol=0.5)


@pytest.mark.parametrize("method", sorted(METHODS))
def test_every_loss_is_float32_under_a_mixed_precision_step(method: str) -> None:
    # A 16-mixed/bf16-mixed step runs the heads in half precision; the objective (and the
    # queues it fills) stays float32, and backward goes through.
    import torch

    from sweeper.ssl.build import build_parts

    parts = build_parts(digits_cfg(f"method={method}", *EXTRA.get(method, []),
                                   small=method not in NO_PROJECTOR))
    images = torch.stack([parts.train_set[i][0] for i in range(64)])
    parts.method.start_epoch(0, len(parts.train_set), 64)
    ids = {"sample_ids": torch.arange(64)} if parts.method.uses_sample_ids else {}
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = parts.method.loss(parts.views(images), 0, **ids)
    assert loss.dtype == torch.float32 and math.isfinite(float(loss))
    loss.backward()


def test_vicreg_loss_does_not_overflow_with_fp16_heads() -> None:
    # Projections whose covariance sums pass fp16's 65,504: inf in fp16, exact in float32.
    import torch

    from sweeper.ssl.methods.vicreg import VICReg

    vicreg = VICReg(torch.nn.Identity(), 8, 16, 16, sim_loss_weight=25.0,
                    var_loss_weight=25.0, cov_loss_weight=1.0)
    g = torch.Generator().manual_seed(0)
    z_a, z_b = (40 * torch.randn(256, 512, generator=g) for _ in range(2))
    reference = float(vicreg.objective(z_a, z_b))
    with torch.autocast("cpu", dtype=torch.float16):
        mixed = vicreg.objective(z_a.half(), z_b.half())
    assert mixed.dtype == torch.float32
    assert float(mixed) == pytest.approx(reference, rel=1e-3)  # only the fp16 inputs' rounding
