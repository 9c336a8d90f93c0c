"""The run's loggers: CSV and TensorBoard by default, MLflow and W&B when enabled (a warning
when the extra is missing); epochs from 1, the config as hyperparameters."""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path

import pytest

from sweeper.ssl.loggers import build_loggers
from tests.ssl.conftest import digits_cfg


@pytest.mark.skipif(importlib.util.find_spec("wandb") is not None, reason="wandb installed")
def test_wandb_without_the_package_warns_and_logs_to_csv(tmp_path: Path) -> None:
    with pytest.warns(UserWarning, match=r"wandb\.enabled.*pip install 'rankme-sweeper\[wandb\]'"):
        loggers = build_loggers(digits_cfg("wandb.enabled=true"), tmp_path)
    assert [type(x).__name__ for x in loggers] == ["CSVLogger", "TensorBoardLogger"]


def test_the_default_loggers_are_csv_and_tensorboard_and_silent(tmp_path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loggers = build_loggers(digits_cfg(), tmp_path)
    assert [type(x).__name__ for x in loggers] == ["CSVLogger", "TensorBoardLogger"]
    assert [type(x).__name__ for x in build_loggers(
        digits_cfg("tensorboard.enabled=false"), tmp_path)] == ["CSVLogger"]


def test_a_run_logs_epochs_from_one_its_config_and_its_rankme_to_every_logger(
        tmp_path: Path) -> None:
    import csv

    import mlflow
    import yaml
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from sweeper.ssl import train

    cfg = digits_cfg("mlflow.enabled=true", "tracking.experiment=my_study",
                     "optimizer.lr=0.25")
    metrics = train(cfg, tmp_path / "trial_3")
    logs = tmp_path / "trial_3" / "logs"

    rows = list(csv.DictReader((logs / "metrics.csv").open()))
    with_rankme = [r for r in rows if r["monitor/rankme"]]
    assert [int(r["epoch"]) for r in with_rankme] == [1, 2]  # as metrics.json's history
    assert [float(r["monitor/rankme"]) for r in with_rankme] == pytest.approx(
        [h["rankme"] for h in metrics["history"]], rel=1e-6)
    assert yaml.safe_load((logs / "hparams.yaml").read_text())["optimizer.lr"] == 0.25

    events = EventAccumulator(str(logs))
    events.Reload()
    assert [e.value for e in events.Scalars("monitor/rankme")] == pytest.approx(
        [h["rankme"] for h in metrics["history"]], rel=1e-6)

    client = mlflow.MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("my_study")
    assert experiment is not None
    (run,) = client.search_runs([experiment.experiment_id])
    assert run.info.run_name == "trial_3" and run.data.params["optimizer.lr"] == "0.25"
    history = client.get_metric_history(run.info.run_id, "monitor/rankme")
    assert [m.value for m in history] == pytest.approx(
        [h["rankme"] for h in metrics["history"]], rel=1e-6)
    assert {m.step for m in client.get_metric_history(run.info.run_id, "epoch")} and \
        max(m.value for m in client.get_metric_history(run.info.run_id, "epoch")) == 2


def test_a_run_keeps_one_checkpoint_file_and_last_links_to_it(tmp_path: Path) -> None:
    from sweeper.ssl import train

    train(digits_cfg("tensorboard.enabled=false"), tmp_path)
    folder = tmp_path / "checkpoints"
    files = sorted(p.name for p in folder.iterdir() if not p.is_symlink())
    assert files == ["epoch=2.ckpt"]  # epochs from 1, as everywhere else
    last = folder / "last.ckpt"
    assert last.is_symlink() and str(last.readlink()) == "epoch=2.ckpt"  # relative: movable
