"""Lightning loggers of a run: always CSV under the run folder, W&B when asked and installed."""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

__all__ = ["build_loggers"]


def build_loggers(cfg: DictConfig, run_dir: Path) -> list[Any]:
    """CSV logger in ``run_dir/logs``; plus Lightning's ``WandbLogger`` when
    ``wandb.enabled`` is true and the ``wandb`` package is importable (else a warning).

    ``wandb.offline`` keeps the W&B run on disk under ``run_dir``.
    """
    from lightning.pytorch.loggers import CSVLogger

    loggers: list[Any] = [CSVLogger(str(run_dir), name="logs", version="")]
    wb = cfg.get("wandb")
    if wb is None or not wb.get("enabled", False):
        return loggers
    if importlib.util.find_spec("wandb") is None:
        warnings.warn("wandb.enabled is true but the wandb package is not installed; logging "
                      "to CSV only. Install it with: pip install 'rankme-sweeper[wandb]'",
                      stacklevel=2)
        return loggers
    from lightning.pytorch.loggers import WandbLogger

    loggers.append(WandbLogger(name=str(cfg.name), project=wb.get("project"),
                               entity=wb.get("entity"), offline=bool(wb.get("offline", False)),
                               save_dir=str(run_dir)))
    return loggers
