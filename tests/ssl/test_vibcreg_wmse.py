"""VIbCReg, W-MSE, IterNorm and Cholesky whitening against numbers computed by solo-learn.

``solo_learn/losses_vibcreg_wmse.json`` was made once by running solo-learn's own functions
and classes (commit and calls in the file) on the seeded inputs described there; nothing of
solo-learn is imported here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from omegaconf import OmegaConf
from torch import nn

from sweeper.config import compose_config
from sweeper.ssl.methods import build_method
from sweeper.ssl.methods.iternorm import IterNorm
from sweeper.ssl.methods.vibcreg import vibcreg_loss
from sweeper.ssl.methods.wmse import WMSE
from sweeper.ssl.optim import build_optimizer

REF: dict[str, Any] = json.loads(
    (Path(__file__).resolve().parent / "solo_learn" / "losses_vibcreg_wmse.json").read_text())
REL = 1e-5


def fixed(seed: int, *shape: int) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def perm(seed: int, n: int) -> torch.Tensor:
    return torch.randperm(n, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("weights", [(25.0, 25.0, 200.0), (1.0, 3.0, 0.5)])
def test_vibcreg_loss(weights: tuple[float, float, float]) -> None:
    want = REF["losses"]["vibcreg_{:g}_{:g}_{:g}".format(*weights)]["value"]
    assert vibcreg_loss(fixed(0, 32, 16), fixed(1, 32, 16), *weights).item() == pytest.approx(
        want, rel=REL)


@pytest.mark.parametrize("case", sorted(k for k in REF["losses"] if k.startswith("wmse")))
def test_wmse_loss_and_gradients(case: str) -> None:
    ref = REF["losses"][case]
    method = WMSE(nn.Identity(), 8, 16, 8, ref["whitening_size"], ref["whitening_iters"],
                  ref["whitening_eps"])
    a, b = fixed(30, 32, 8).requires_grad_(), fixed(31, 32, 8).requires_grad_()
    loss = method.objective(a, b, perms=[perm(100 + r, 32) for r in range(ref["whitening_iters"])])
    loss.backward()
    assert loss.item() == pytest.approx(ref["value"], rel=REL)
    assert a.grad is not None and a.grad.abs().sum().item() == pytest.approx(
        ref["grad_a_sum_abs"], rel=1e-4)
    assert b.grad is None or b.grad.abs().sum().item() == ref["grad_b_sum_abs"] == 0.0


@pytest.mark.parametrize("eps", [0.0, 0.1])
def test_cholesky_whitening(eps: float) -> None:
    ref = REF["whitening"][f"eps{eps}"]
    white = WMSE(nn.Identity(), 8, 16, 8, 16, 1, eps).whitening(fixed(32, 24, 8))
    assert white[0].tolist() == pytest.approx(ref["first_row"], rel=1e-4, abs=1e-5)
    assert white.abs().sum().item() == pytest.approx(ref["abs_sum"], rel=REL)


@pytest.mark.parametrize("case", sorted(k for k in REF["iternorm"] if k.startswith("groups")))
def test_iternorm_groups(case: str) -> None:
    features, groups = map(int, case.split("_")[1:])
    layer = IterNorm(features, num_groups=groups)
    want = REF["iternorm"][case]
    assert (layer.num_groups, layer.num_channels) == (want["num_groups"], want["num_channels"])


def test_iternorm_whitens_updates_its_running_statistics_and_backpropagates() -> None:
    ref = REF["iternorm"]["run"]
    layer = IterNorm(64, num_groups=8)
    with torch.no_grad():
        layer.weight.copy_(1 + 0.1 * fixed(41, 1, 64))
        layer.bias.copy_(0.1 * fixed(42, 1, 64))
    x = fixed(40, 32, 64).requires_grad_()
    y = layer(x)
    (y * fixed(43, 32, 64)).sum().backward()
    assert y[0].tolist() == pytest.approx(ref["train_first_row"], rel=1e-4, abs=1e-5)
    assert y.abs().sum().item() == pytest.approx(ref["train_abs_sum"], rel=REL)
    assert x.grad is not None and layer.weight.grad is not None
    assert x.grad[0].tolist() == pytest.approx(ref["grad_x_first_row"], rel=1e-3, abs=1e-5)
    assert x.grad.abs().sum().item() == pytest.approx(ref["grad_x_abs_sum"], rel=1e-4)
    assert layer.weight.grad.sum().item() == pytest.approx(ref["grad_weight_sum"], rel=1e-4)
    assert layer.running_mean.sum().item() == pytest.approx(ref["running_mean_sum"], abs=1e-5)
    assert layer.running_wm.abs().sum().item() == pytest.approx(ref["running_wm_abs_sum"],
                                                                rel=REL)
    layer.eval()
    y_eval = layer(fixed(44, 16, 64))
    assert y_eval[0].tolist() == pytest.approx(ref["eval_first_row"], rel=1e-4, abs=1e-5)
    assert y_eval.abs().sum().item() == pytest.approx(ref["eval_abs_sum"], rel=REL)


def _layers(module: nn.Module) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for child in module.children():
        row: dict[str, Any] = {"type": type(child).__name__}
        if isinstance(child, nn.Linear):
            row.update(in_features=child.in_features, out_features=child.out_features,
                       bias=child.bias is not None)
        if isinstance(child, nn.BatchNorm1d):
            row.update(num_features=child.num_features, affine=child.affine)
        if isinstance(child, IterNorm):
            row.update(num_features=child.num_features, num_groups=child.num_groups,
                       num_channels=child.num_channels, T=child.iterations, eps=child.eps,
                       momentum=child.momentum)
        out.append(row)
    return out


@pytest.mark.parametrize("name", ["vibcreg", "wmse"])
def test_heads_and_cifar_kwargs_are_solo_learns(name: str) -> None:
    ref = REF["heads"][name]
    kwargs = OmegaConf.to_container(compose_config([f"method={name}"]).method_kwargs)
    assert kwargs == ref["method_kwargs"]
    method = build_method(name, nn.Identity(), ref["features_dim"], kwargs)  # type: ignore[arg-type]
    assert _layers(method.projector) == ref["projector"]
    assert sum(p.numel() for p in method.projector.parameters()) == ref["projector_params"]
    state = sorted((k, list(v.shape)) for k, v in method.projector.state_dict().items())
    assert state == [tuple(row) for row in ref["projector_buffers"]]
    if name == "wmse":
        assert isinstance(method, WMSE) and not list(method.whitening.parameters())
        assert ref["whitening"][0]["eps"] == method.whitening.eps


def test_wmse_refuses_a_batch_its_sub_batches_do_not_divide() -> None:
    method = WMSE(nn.Identity(), 8, 16, 8, 16, 1, 0.0)
    with pytest.raises(ValueError, match="batch of 40 is not a multiple"):
        method.objective(fixed(0, 40, 8), fixed(1, 40, 8))
    with pytest.raises(ValueError, match="whitening_size > proj_output_dim"):
        WMSE(nn.Identity(), 8, 16, 8, 8, 1, 0.0)


def test_adam_is_torch_adam_with_solo_learns_kwargs() -> None:
    cfg = compose_config(["method=wmse"]).optimizer
    assert cfg.name == "adam" and cfg.lr == 2e-3 and cfg.weight_decay == 1e-6
    opt = build_optimizer(nn.Linear(4, 2), cfg)
    assert type(opt) is torch.optim.Adam
    assert opt.param_groups[0]["betas"] == (0.9, 0.999)
    assert opt.param_groups[0]["weight_decay"] == 1e-6


BAD_WHITENING = ("method_kwargs.whitening_size=100 does not divide optimizer.batch_size=256 "
                 "(the per-process batch, whitened in sub-batches of whitening_size rows); "
                 "choose a divisor of 256 above method_kwargs.proj_output_dim=64: 128, 256")


def test_train_refuses_a_whitening_size_that_does_not_divide_the_batch_before_any_work(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from sweeper.cli import main
    from sweeper.config import ConfigError
    from sweeper.ssl import train

    with pytest.raises(ConfigError) as err:
        train(compose_config(["method=wmse", "method_kwargs.whitening_size=100"]),
              tmp_path / "direct")
    assert str(err.value) == BAD_WHITENING
    assert not (tmp_path / "direct").exists()
    run = tmp_path / "run"
    assert main(["train", "method=wmse", "method_kwargs.whitening_size=100",
                 f"hydra.run.dir={run}"]) == 2
    assert BAD_WHITENING in capsys.readouterr().err
    # Hydra's own record of the command (.hydra/, train.log) is all the run dir holds
    assert {p.relative_to(run).parts[0] for p in run.rglob("*")} <= {".hydra", "train.log"}
    # no divisor of the batch exceeds the projection: the batch or the projection must change
    with pytest.raises(ConfigError, match="no divisor of 40 exceeds method_kwargs.proj_outp"):
        train(compose_config(["method=wmse", "optimizer.batch_size=40"]), tmp_path / "x")


@pytest.mark.parametrize(("overrides", "space", "message"), [
    (["method_kwargs.whitening_size=100"], {"optimizer.lr": "interval(0.1, 1.0)"},
     f"the training config fails before any trial: {BAD_WHITENING}"),
    ([], {"method_kwargs.whitening_size": "choice(128, 100)"},
     f"the training config at method_kwargs.whitening_size=100 fails before any trial: "
     f"{BAD_WHITENING}"),
    ([], {"optimizer.batch_size": "range(128, 320, 64)"},
     # 128 and 256 divide, 192 between them does not: a short int range is checked at each
     "at optimizer.batch_size=192 fails before any trial: method_kwargs.whitening_size=128 "
     "does not divide optimizer.batch_size=192"),
])
def test_sweep_refuses_a_whitening_size_a_trial_would_refuse_before_the_study(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        overrides: list[str], space: dict[str, str], message: str) -> None:
    from sweeper.cli import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "conf" / "space").mkdir(parents=True)
    (tmp_path / "conf" / "space" / "wmse.yaml").write_text(
        "params:\n" + "".join(f"  {k}: {v}\n" for k, v in space.items()))
    code = main(["sweep", "method=wmse", *overrides, "max_epochs=1", "sweep.n_trials=1",
                 "sweep.workers=1", f"--config-dir={tmp_path / 'conf'}", "space=wmse"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert message in err
    assert not list(tmp_path.rglob("study.db"))  # refused before the study was created


def test_wmse_doctests() -> None:
    import doctest

    from sweeper.ssl.methods import wmse

    assert doctest.testmod(wmse).failed == 0
