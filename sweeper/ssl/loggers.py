"""Lightning loggers of a run: CSV always, TensorBoard by default, W&B and MLflow when asked.

Every logger files the run under ``tracking.experiment`` (a sweep's trial: the study's name)
as a run named after its folder (``trial_<n>`` in a sweep), logs the run's config as its
hyperparameters, and counts epochs from 1, as metrics.json's history does (Lightning's own
``epoch`` column counts from 0).
"""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path
from typing import Any

from lightning.pytorch.loggers import CSVLogger, MLFlowLogger, TensorBoardLogger, WandbLogger
from omegaconf import DictConfig, OmegaConf

__all__ = ["build_loggers", "hyperparameters"]


def _epochs_from_one(cls: type) -> type:
    """``cls`` with the ``epoch`` Lightning adds to every logged row counted from 1."""

    class Logger(cls):
        def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
            if "epoch" in metrics:
                metrics = {**metrics, "epoch": metrics["epoch"] + 1}
            super().log_metrics(metrics, step)

    Logger.__name__ = Logger.__qualname__ = cls.__name__
    return Logger


def hyperparameters(cfg: DictConfig) -> dict[str, Any]:
    """The resolved config flattened to dotted keys; lists as their string."""
    flat: dict[str, Any] = {}

    def walk(node: Any, prefix: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, f"{prefix}{key}.")
        else:
            flat[prefix[:-1]] = node if node is None or isinstance(
                node, bool | int | float | str) else str(node)

    walk(OmegaConf.to_container(cfg, resolve=True), "")
    return flat


def _missing(key: str, install: str) -> None:
    warnings.warn(f"{key}.enabled is true but the {key} package is not installed; that "
                  f"logger is left out. Install it with: pip install {install}", stacklevel=3)


def build_loggers(cfg: DictConfig, run_dir: Path) -> list[Any]:
    """The run's loggers, all writing under ``run_dir`` unless a tracking server is named.

    - CSV: ``run_dir/logs/metrics.csv`` (and ``hparams.yaml``), always.
    - TensorBoard (``tensorboard.enabled``, default on): ``run_dir/logs``.
    - W&B (``wandb.*``, solo-learn's block): project ``wandb.project``, group
      ``tracking.experiment``; ``wandb.offline`` keeps the run on disk under ``run_dir``.
    - MLflow (``mlflow.*``): experiment ``tracking.experiment``; ``mlflow.tracking_uri``
      null writes ``mlflow.db`` (SQLite) beside ``run_dir`` (in a study's folder: one store
      for all its trials).

    A logger that is enabled but whose package is not installed is left out with a warning
    naming the key and the extra to install.
    """
    run_dir = Path(run_dir)
    tracking = cfg.get("tracking") or {}
    experiment = str(tracking.get("experiment") or cfg.get("name") or "rankme-sweeper")
    run_name = run_dir.name
    loggers: list[Any] = [_epochs_from_one(CSVLogger)(str(run_dir), name="logs", version="")]

    if (cfg.get("tensorboard") or {}).get("enabled", False):
        if importlib.util.find_spec("tensorboard") is None and \
                importlib.util.find_spec("tensorboardX") is None:
            _missing("tensorboard", "tensorboard")  # a dependency: a broken install
        else:
            loggers.append(_epochs_from_one(TensorBoardLogger)(
                str(run_dir), name="logs", version="", default_hp_metric=False))

    wb = cfg.get("wandb") or {}
    if wb.get("enabled", False):
        if importlib.util.find_spec("wandb") is None:
            _missing("wandb", "'rankme-sweeper[wandb]'")
        else:
            loggers.append(_epochs_from_one(WandbLogger)(
                name=run_name, group=experiment, project=wb.get("project"),
                entity=wb.get("entity"), offline=bool(wb.get("offline", False)),
                save_dir=str(run_dir)))

    ml = cfg.get("mlflow") or {}
    if ml.get("enabled", False):
        if importlib.util.find_spec("mlflow") is None:
            _missing("mlflow", "'rankme-sweeper[mlflow]'")
        else:
            store = run_dir.resolve().parent
            uri = ml.get("tracking_uri") or f"sqlite:///{store / 'mlflow.db'}"
            loggers.append(_epochs_from_one(MLFlowLogger)(
                experiment_name=experiment, run_name=run_name, tracking_uri=str(uri),
                artifact_location=(store / "mlartifacts").as_uri()))
    return loggers
