"""What a sweep asks of :func:`sweeper.ssl.train` beyond training: its hooks.

The study reads them as attributes of the training function
(:mod:`sweeper.study.train_fn`); :mod:`sweeper.ssl` sets them on :func:`~sweeper.ssl.train`:

- :func:`check_trials`: before the study exists, the config at each end of every param (at
  every choice, at every value of a short integer range) passes the training config's
  checks, names its devices by count or ids (N > 1: DDP ranks, ``strategy=ddp``), its data
  is there and its model builds.
- :data:`RESUME_OVERRIDES`: a retried or requeued trial continues from its run dir's
  ``last.ckpt``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from omegaconf import DictConfig, OmegaConf

from sweeper.ssl.build import build_model, checked_config
from sweeper.ssl.data.datasets import check_data
from sweeper.study.ranks import trial_world_size

__all__ = ["RESUME_OVERRIDES", "check_trials"]

# From the dead attempt's last.ckpt, however old (auto_resume refuses an old one by default).
RESUME_OVERRIDES = {"auto_resume.enabled": True, "auto_resume.max_hours": None}


def _ranks(devices: Any, strategy: Any) -> None:
    """A trial trains on a known number of processes: its worker's (one device), or N DDP
    ranks that the worker (or its Slurm job) starts (:mod:`sweeper.study.ranks`)."""
    world = trial_world_size(OmegaConf.to_container(devices)
                             if OmegaConf.is_config(devices) else devices)
    if world > 1 and not str(strategy).startswith("ddp"):
        raise ValueError(f"devices={devices!r} with strategy={strategy!r}: a trial on "
                         f"{world} devices trains with DDP ranks; set strategy=ddp")


def check_trials(points: Iterable[tuple[str, DictConfig]]) -> None:
    """Checks the training config of each point of a search space (the
    :class:`~sweeper.study.train_fn.TrialCheck` hook); each dataset and each model once.

    Raises:
        ValueError: naming the point and what is wrong with its config.
    """
    seen_data: set[str] = set()
    seen_models: set[str] = set()
    for where, cfg in points:
        try:
            cfg = checked_config(cfg)
            _ranks(cfg.get("devices"), cfg.get("strategy"))
            data = OmegaConf.to_yaml(cfg.data, resolve=True)
            if data not in seen_data:
                seen_data.add(data)
                check_data(cfg.data)
            model = OmegaConf.to_yaml(OmegaConf.masked_copy(
                cfg, ["method", "method_kwargs", "backbone", "data"]), resolve=True)
            if model not in seen_models:
                seen_models.add(model)
                build_model(cfg)
        except (ValueError, TypeError, KeyError) as err:
            raise ValueError(f"the training config{where} fails before any trial: "
                             f"{str(err).splitlines()[0]}") from None
