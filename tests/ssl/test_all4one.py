"""All4One against numbers computed by solo-learn's own All4One (``solo_learn/all4one.json``).

The fixture holds solo-learn's loss on fixed inputs with the transformer's dropout off, the
gradients it sends back, the queue after the step, its position code and its learning rates
per group (the CIFAR heads' layers are checked with every method's in
test_solo_learn_parity.py); ``all4one_state.npz`` holds the small heads'
weights solo-learn drew, so both sides compute with the same weights.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from omegaconf import OmegaConf
from torch import nn

from sweeper.ssl.methods import build_method
from sweeper.ssl.methods.all4one import redundancy_loss, token_position_code
from sweeper.ssl.optim import build_optimizer, group_lambdas, lr_lambda

HERE = Path(__file__).resolve().parent / "solo_learn"
REF: dict[str, Any] = json.loads((HERE / "all4one.json").read_text())
REL = 1e-5


def fixed(seed: int, *shape: int) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def small() -> Any:
    m = build_method("all4one", nn.Identity(), 512, {
        "proj_hidden_dim": 32, "pred_hidden_dim": 48, "proj_output_dim": 16,
        "queue_size": 24, "temperature": 0.2})
    state = {k: torch.from_numpy(v) for k, v in np.load(HERE / "all4one_state.npz").items()}
    missing, unexpected = m.load_state_dict(state, strict=False)
    assert not unexpected
    assert not [k for k in missing if k.split(".")[0] in
                ("projector", "predictor", "predictor2", "transformer_encoder")]
    m.queue.bank.copy_(F.normalize(fixed(14, 24, 16), dim=1))
    m.train()
    m.transformer_encoder.eval()  # dropout off, as the fixture was made
    return m


def test_the_loss_its_gradients_and_the_queue_match_solo_learn() -> None:
    m = small()
    feats = [fixed(10, 6, 512).requires_grad_(True), fixed(11, 6, 512).requires_grad_(True)]
    targets = [F.normalize(fixed(12, 6, 16), dim=-1), F.normalize(fixed(13, 6, 16), dim=-1)]
    z = [m.projector(f) for f in feats]
    loss = m.objective(z, [m.predictor(zi) for zi in z], [m.predictor2(zi) for zi in z],
                       targets)
    ref = REF["loss"]
    assert float(loss.detach()) == pytest.approx(ref["total"], rel=REL), ref["call"]
    assert float(redundancy_loss(targets, z).detach()) == pytest.approx(ref["feature"], rel=REL)
    loss.backward()
    assert float(feats[0].grad.abs().sum()) == pytest.approx(ref["grad_feats1_abs_sum"],
                                                              rel=1e-4)
    assert float(feats[1].grad.abs().sum()) == pytest.approx(ref["grad_feats2_abs_sum"],
                                                              rel=1e-4)
    for name, key in (("transformer_encoder", "grad_transformer_abs_sum"),
                      ("predictor2", "grad_predictor2_abs_sum")):
        total = sum(float(q.grad.abs().sum()) for q in getattr(m, name).parameters()
                    if q.grad is not None)
        assert total == pytest.approx(ref[key], rel=1e-4), name
    torch.testing.assert_close(m.queue.bank, torch.tensor(ref["queue_after"]),
                               rtol=0, atol=1e-6)
    assert int(m.queue.ptr) == ref["queue_ptr_after"]


def test_the_position_code_is_solo_learns() -> None:
    # solo-learn adds it to a (B, 5, 12) token set of zeros: the code itself
    torch.testing.assert_close(token_position_code(5, 12),
                               torch.tensor(REF["pos_enc_zeros_2x5x12"]), rtol=0, atol=1e-6)


def test_the_transformer_follows_the_schedule_from_its_own_unscaled_peak() -> None:
    # solo-learn's groups: the base rate (scaled by batch size) for all but the transformer,
    # which starts from its own 0.1; the warm-up starts every group at warmup_start_lr
    assert REF["cifar_heads"]["learnable_param_groups_lr"][-1] == 0.1
    m = small()
    optimizer = OmegaConf.create({"name": "lars", "lr": 1.0, "weight_decay": 1e-5, "kwargs": {
        "momentum": 0.9, "eta": 0.02, "clip_lr": True, "exclude_bias_n_norm": True}})
    scheduler = OmegaConf.create({"name": "warmup_cosine", "warmup_epochs": 1,
                                  "warmup_start_lr": 3e-5, "min_lr": 0.0})
    base = 2.0  # lr 1.0 at batch size 512
    opt = build_optimizer(m, optimizer, lr=base, own_lr_modules=m.own_lr_modules())
    sched = torch.optim.lr_scheduler.LambdaLR(opt, group_lambdas(
        opt, base, lambda peak: lr_lambda(scheduler, peak, 10, 4)))
    transformer = {id(q) for q in m.transformer_encoder.parameters()}
    own = [g for g in opt.param_groups if g.get("own_lr")]
    assert {id(q) for g in own for q in g["params"]} == transformer
    others = [g for g in opt.param_groups if not g.get("own_lr") and g["params"]]
    assert not transformer & {id(q) for g in others for q in g["params"]}
    assert [g["lr"] for g in opt.param_groups] == pytest.approx([3e-5] * len(opt.param_groups))
    for _ in range(10):  # to the end of the warm-up epoch
        opt.step()
        sched.step()
    assert [g["lr"] for g in own] == pytest.approx([0.1] * len(own))
    assert [g["lr"] for g in others] == pytest.approx([base] * len(others))


@pytest.mark.parametrize("kwargs, bad", [({"proj_output_dim": 20}, "proj_output_dim=20"),
                                         ({"queue_size": 4}, "queue_size=4")])
def test_sizes_its_transformer_and_neighbours_cannot_take_are_refused(
        kwargs: dict[str, int], bad: str) -> None:
    args = {"proj_hidden_dim": 8, "pred_hidden_dim": 8, "proj_output_dim": 16,
            "queue_size": 24, "temperature": 0.2, **kwargs}
    with pytest.raises(ValueError, match=bad):
        build_method("all4one", nn.Identity(), 8, args)
