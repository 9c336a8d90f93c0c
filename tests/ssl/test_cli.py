"""``rankme-sweeper train`` as a user runs it (the checkout's code), Hydra overrides."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

import pytest

from sweeper.cli import main
from sweeper.config import group_choices
from tests.cli import REPO, run_cli


def train_main(argv: Sequence[str]) -> int:
    return main(["train", *argv])


def test_the_landing_contract_run(tmp_path: Path) -> None:
    done = run_cli("train", "data=digits", "method=simclr", "max_epochs=2",
                   f"hydra.run.dir={tmp_path}")
    assert done.returncode == 0, done.stderr
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["status"] == "completed" and metrics["epochs"] == 2
    assert math.isfinite(metrics["rankme"]) and metrics["rankme"] > 1
    assert list((tmp_path / "checkpoints").glob("*.ckpt"))
    assert "completed: simclr 2 epochs" in done.stdout


def test_a_diverged_run_writes_its_status_and_exits_non_zero(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert train_main(["max_epochs=2", "optimizer.lr=1e30", f"hydra.run.dir={tmp_path}"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("error: training diverged")
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["status"] == "diverged"
    assert metrics["diverged"]["loss"] in ("nan", "inf", "-inf")


@pytest.mark.parametrize(("override", "message"), [
    ("method=simclrr", "unknown method 'simclrr' (did you mean simclr?); choose one of: "
                       + ", ".join(group_choices("method"))),
    ("backbone=resnet", "unknown backbone 'resnet'"),
    ("data=mnist", "unknown dataset 'mnist'"),
    ("max_epoch=2", "unknown config key 'max_epoch'; did you mean: max_epochs?"),
    ("monitor.every_n_epoch=2", "did you mean: monitor.every_n_epochs"),
])
def test_bad_configs_fail_before_any_work(override: str, message: str, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert train_main([override, f"hydra.run.dir={tmp_path / 'run'}"]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "run").exists()


def test_the_choices_are_listed_for_each_group(capsys: pytest.CaptureFixture[str]) -> None:
    assert train_main(["backbone=nope"]) == 2
    shipped = sorted(p.stem for p in (REPO / "conf" / "backbone").glob("*.yaml"))
    assert {"digits_cnn", "resnet18", "swin_tiny", "poolformer_s12"} <= set(shipped)
    assert f"choose one of: {', '.join(shipped)}" in capsys.readouterr().err
    assert train_main(["data=nope"]) == 2
    assert ("cifar10, cifar100, custom, digits, imagenet, imagenet100, stl10"
            in capsys.readouterr().err)


def test_missing_data_path_is_a_clear_error(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert train_main(["data=cifar10", f"hydra.run.dir={tmp_path}"]) == 2
    assert "data.train_path is not set" in capsys.readouterr().err


def test_hydra_flags_work_after_overrides(capsys: pytest.CaptureFixture[str]) -> None:
    assert train_main(["method=byol", "optimizer.lr=0.5", "--cfg", "job"]) == 0
    out = capsys.readouterr().out
    assert "method: byol" in out and "lr: 0.5" in out
