"""What a sweep asks of :func:`sweeper.ssl.train` beyond training: its hooks.

The study reads them as attributes of the training function
(:mod:`sweeper.study.train_fn`); :mod:`sweeper.ssl` sets them on :func:`~sweeper.ssl.train`:

- :func:`check_trials`: before the study exists, the config at each end of every param (at
  every choice, at every value of a short integer range) passes the training config's
  checks, trains on one device, its data is there and its model builds.
- :data:`RESUME_OVERRIDES`: a retried or requeued trial continues from its run dir's
  ``last.ckpt``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from omegaconf import DictConfig, OmegaConf

from sweeper.ssl.build import build_model, checked_config
from sweeper.ssl.data.datasets import check_data

__all__ = ["RESUME_OVERRIDES", "check_trials"]

# From the dead attempt's last.ckpt, however old (auto_resume refuses an old one by default).
RESUME_OVERRIDES = {"auto_resume.enabled": True, "auto_resume.max_hours": None}


def _one_device(devices: Any) -> None:
    """A trial trains inside its worker's process: one device (a count of 1 or one device
    id), no DDP ranks of its own."""
    ids = list(devices) if isinstance(devices, Sequence) and not isinstance(devices, str) \
        else None
    count = str(devices).strip()
    if (len(ids) != 1) if ids is not None else (count != "1" and not count.endswith(",")):
        raise ValueError(f"devices={devices!r}: a sweep trial trains in its worker's process on "
                         "one device (devices=1, or one device id such as [3]); run more "
                         "workers (sweep.workers, one GPU each) instead of DDP per trial")


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
            _one_device(cfg.get("devices"))
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
