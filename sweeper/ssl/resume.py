"""``auto_resume``: which checkpoint a run continues from, checked before anything is written.

solo-learn resumes a checkpoint younger than ``auto_resume.max_hours`` (by the file's ctime).
Here the checkpoint must also have been written by the same run: a checkpoint of another
config in the same folder is an error, not a crash in ``load_state_dict`` halfway through.
"""

from __future__ import annotations

import os
import time
import warnings
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf

from sweeper.schema import ConfigError
from sweeper.ssl.backbones import variant_method

__all__ = ["MATCHING_KEYS", "resume_path"]

# What makes a checkpoint another run's: its model, data or optimization differ.
MATCHING_KEYS = ("name", "backbone", "method", "data.dataset", "max_epochs", "optimizer.name",
                 "optimizer.batch_size", "optimizer.lr", "optimizer.weight_decay")


def _variant(method: str | None) -> str:
    return "timm (the plain backbone)" if method is None else f"method {method}"


def _select(cfg: Any, key: str) -> Any:
    node = OmegaConf.select(OmegaConf.create(cfg), key, default=None)
    return OmegaConf.to_container(node, resolve=True) if OmegaConf.is_config(node) else node


def resume_path(cfg: DictConfig, last: Path) -> str | None:
    """``last`` when ``auto_resume`` is on, it exists, is younger than ``max_hours`` and was
    written by a run with the same :data:`MATCHING_KEYS`; None for a fresh start.

    Raises:
        ConfigError: when ``last`` belongs to a run with another config, naming the keys.
    """
    if not cfg.auto_resume.enabled or not last.is_file():
        return None
    hours = (time.time() - os.path.getctime(last)) / 3600
    max_hours = cfg.auto_resume.get("max_hours")
    if max_hours is not None and hours > float(max_hours):
        warnings.warn(f"auto_resume: {last} is {hours:.1f} h old, more than "
                      f"auto_resume.max_hours={cfg.auto_resume.max_hours}; starting afresh",
                      stacklevel=2)
        return None
    meta = torch.load(last, map_location="cpu", weights_only=False).get("rankme_sweeper", {})
    stored = meta.get("config")
    if stored is None:
        raise ConfigError(f"auto_resume: {last} holds no rankme-sweeper config; move it away "
                          "or set auto_resume.enabled=false")
    ours = OmegaConf.to_container(cfg, resolve=True)
    differ = [f"{k} ({_select(stored, k)!r} there, {_select(ours, k)!r} here)"
              for k in MATCHING_KEYS if _select(stored, k) != _select(ours, k)]
    if differ:
        raise ConfigError(f"auto_resume: {last} is another run's checkpoint; it differs on "
                          f"{', '.join(differ)}. Use another output folder, or set "
                          "auto_resume.enabled=false")
    # absent in checkpoints written before methods mocov3 and mae had their own ViTs
    held = meta.get("backbone_method")
    built = variant_method(str(cfg.method), str(cfg.backbone.name))
    if held != built:
        raise ConfigError(f"auto_resume: {last} holds {cfg.backbone.name} as "
                          f"{_variant(held)} builds it, this run builds {_variant(built)}'s: "
                          "the weights would load into another network. Use another output "
                          "folder, or set auto_resume.enabled=false")
    return str(last)
