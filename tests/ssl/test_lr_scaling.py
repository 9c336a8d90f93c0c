"""solo-learn's learning-rate scaling (lr x batch_size x devices / 256) and SimSiam's
predictor at a fixed learning rate (solo-learn's ``fixed_lr`` / ``static_lr``)."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from sweeper.ssl.build import build_model
from sweeper.ssl.module import SSLModule
from sweeper.ssl.optim import scaled_lr
from tests.ssl.conftest import digits_cfg


def test_scaled_lr_is_solo_learns_rule() -> None:
    assert scaled_lr(0.3, 256, 1) == pytest.approx(0.3)
    assert scaled_lr(0.3, 128, 4) == pytest.approx(0.6)


def _schedule(*overrides: str) -> tuple[Any, list[list[float]], float]:
    cfg = digits_cfg("optimizer.batch_size=64", "optimizer.lr=0.8", "max_epochs=4",
                     "scheduler.warmup_epochs=1", "scheduler.warmup_start_lr=1e-3",
                     "scheduler.min_lr=1e-4", *overrides)
    method = build_model(cfg)
    module = SSLModule(cfg, method, None, range(64 * 5))  # type: ignore[arg-type]
    conf = module.configure_optimizers()
    opt, sched = conf["optimizer"], conf["lr_scheduler"]["scheduler"]
    lrs = []
    for _ in range(5 * 4):  # 5 steps an epoch, 4 epochs
        lrs.append([g["lr"] for g in opt.param_groups])
        opt.step()
        sched.step()
    return opt, lrs, module.scaled_lr()


def test_the_schedule_runs_on_the_scaled_lr() -> None:
    opt, lrs, base = _schedule("method=simclr")
    assert base == pytest.approx(0.8 * 64 / 256)
    assert all(not g["static_lr"] for g in opt.param_groups)
    first = [step[0] for step in lrs]
    assert first[0] == pytest.approx(1e-3)  # warmup_start_lr is not scaled
    assert first[5] == pytest.approx(base)  # the end of warmup reaches the scaled lr
    assert min(first[5:]) > 1e-4 and first[-1] < 0.05 * base  # cosine towards min_lr


def test_simsiams_predictor_stays_at_the_scaled_lr() -> None:
    opt, lrs, base = _schedule("method=simsiam")
    method_static = [i for i, g in enumerate(opt.param_groups) if g["static_lr"]]
    assert method_static, "the predictor has a group of its own"
    moving = [i for i, g in enumerate(opt.param_groups) if not g["static_lr"]]
    for step in lrs:  # through warmup and cosine
        assert all(step[i] == pytest.approx(base) for i in method_static)
    assert lrs[0][moving[0]] == pytest.approx(1e-3)
    predictor = {id(p) for m in opt.param_groups if m["static_lr"] for p in m["params"]}
    model = build_model(digits_cfg("method=simsiam"))
    assert len(predictor) == sum(1 for m in model.static_lr_modules()
                                 for p in m.parameters() if p.requires_grad)


def test_metrics_record_the_scaled_lr(trained_run: dict[str, Any]) -> None:
    cfg = trained_run["cfg"]
    assert trained_run["metrics"]["lr_scaled"] == pytest.approx(
        float(cfg.optimizer.lr) * int(cfg.optimizer.batch_size) / 256)


def test_lars_steps_do_not_fail_with_a_static_group() -> None:
    opt, _, _ = _schedule("method=simsiam", "optimizer=lars")
    assert isinstance(opt, torch.optim.Optimizer) and len(opt.param_groups) == 2
