"""Method hyperparameters are checked by the constructor that takes them (lightly's habit):
one line naming the ``method_kwargs`` key and the allowed range, before anything is built,
and a sweep whose search range reaches a bad value is refused before the study exists."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from sweeper.config import compose_config
from sweeper.schema import ConfigError
from sweeper.ssl.build import build_model, checked_config
from sweeper.ssl.methods.checks import EXP_FLOAT32_MIN_TEMPERATURE
from sweeper.ssl.methods.simclr import simclr_loss

BOUND = f"{EXP_FLOAT32_MIN_TEMPERATURE:.5f}"

CASES = [  # method, key, a refused value, the line's end
    ("simclr", "temperature", 0.011, f"must be > {BOUND} (exp(1/T) overflows float32"),
    ("simclr", "temperature", 0.0, f"must be > {BOUND}"),
    ("simclr", "temperature", "warm", "must be a number"),
    ("mocov3", "temperature", 0.0, "must be > 0"),
    ("mocov2plus", "temperature", -0.1, "must be > 0"),
    ("nnclr", "temperature", 0.0, "must be > 0"),
    ("all4one", "temperature", 0.0, "must be > 0"),
    ("deepclusterv2", "temperature", 0.0, "must be > 0"),
    ("ressl", "temperature_q", 0.0, "must be > 0"),
    ("ressl", "temperature_k", -1.0, "must be > 0"),
    ("swav", "temperature", 0.0, "must be > 0"),
    ("swav", "sk_epsilon", 0.0, "must be > 0"),
    ("swav", "sk_iters", 0, "must be an integer >= 1"),
    ("dino", "student_temperature", 0.0, "must be > 0"),
    ("dino", "teacher_temperature", -0.04, "must be > 0"),
    ("dino", "warmup_teacher_temperature", 0.0, "must be > 0"),
    ("dino", "clip_grad", -1.0, "must be >= 0"),
    ("dino", "freeze_last_layer", -1, "must be an integer >= 0"),
    ("dino", "warmup_teacher_temperature_epochs", -2, "must be an integer >= 0"),
    ("vicreg", "sim_loss_weight", -1.0, "must be >= 0"),
    ("vicreg", "var_loss_weight", -25.0, "must be >= 0"),
    ("vicreg", "cov_loss_weight", -1.0, "must be >= 0"),
    ("vibcreg", "cov_loss_weight", -200.0, "must be >= 0"),
    ("barlow_twins", "lamb", -0.0051, "must be >= 0"),
    ("barlow_twins", "scale_loss", -0.1, "must be >= 0"),
    ("wmse", "whitening_eps", -1e-5, "must be >= 0"),
]


@pytest.mark.parametrize(("method", "key", "value", "allowed"), CASES)
def test_a_bad_value_is_one_line_naming_the_key(method: str, key: str, value: object,
                                                allowed: str) -> None:
    shown = f"'{value}'" if isinstance(value, str) else value
    cfg = compose_config([f"method={method}", f"method_kwargs.{key}={shown}"])
    with pytest.raises(ValueError) as err:
        build_model(cfg)
    assert str(err.value).startswith(f"method_kwargs.{key}={value!r}: {allowed}")
    assert "\n" not in str(err.value)


def test_the_simclr_bound_is_where_float32_overflows() -> None:
    """Two identical unit vectors: the positive term is exp(1/T), finite just above the
    bound (1 / ln(max float32)) and inf just below it, so the loss is NaN there."""
    z = [torch.ones(1, 4), torch.ones(1, 4)]
    assert math.isclose(EXP_FLOAT32_MIN_TEMPERATURE, 1 / 88.7228, rel_tol=1e-5)
    assert torch.isfinite(simclr_loss(z, EXP_FLOAT32_MIN_TEMPERATURE * 1.001))
    assert not torch.isfinite(simclr_loss(z, EXP_FLOAT32_MIN_TEMPERATURE * 0.999))


def test_an_ema_momentum_outside_0_1_is_refused() -> None:
    for key, value in (("base_tau", 1.5), ("final_tau", -0.1)):
        with pytest.raises(ConfigError, match=rf"^momentum\.{key}={value}: must be in \[0, 1\]$"):
            checked_config(compose_config(["method=byol", f"momentum.{key}={value}"]))


def test_sweep_refuses_a_temperature_range_that_reaches_a_bad_value(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from sweeper.cli import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "conf" / "space").mkdir(parents=True)
    (tmp_path / "conf" / "space" / "t.yaml").write_text(
        "params:\n  method_kwargs.temperature: tag(log, interval(0.005, 0.5))\n")
    code = main(["sweep", "method=simclr", "max_epochs=1", "sweep.n_trials=1",
                 "sweep.workers=1", f"--config-dir={tmp_path / 'conf'}", "space=t"])
    err = capsys.readouterr().err
    assert code == 2, err
    # the interval's low end is the first point checked (the params at their first values)
    assert err.startswith("error: the training config fails before any trial: "
                          f"method_kwargs.temperature=0.005: must be > {BOUND}")
    assert not list(tmp_path.rglob("study.db"))  # refused before the study was created
