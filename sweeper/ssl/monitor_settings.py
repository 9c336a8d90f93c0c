"""The ``monitor`` block of a training config, typed; its defaults live in conf/train.yaml."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from omegaconf import MISSING

from sweeper.schema import read_block

__all__ = ["IdestSettings", "LidarSettings", "MonitorSettings", "read_monitor"]


@dataclass
class LidarSettings:
    """``monitor.lidar``: LiDAR on augmented views of the monitor bank's first images."""

    enabled: bool = MISSING
    n_images: int = MISSING
    n_augmentations: int = MISSING
    delta: float = MISSING


@dataclass
class IdestSettings:
    """``monitor.idest``: IdEst on the backbone features of the measured bank's first images."""

    enabled: bool = MISSING
    n_images: int = MISSING


@dataclass
class MonitorSettings:
    """``monitor``: the two banks RankMe and its peers are measured on, and how often."""

    enabled: bool = MISSING
    every_n_epochs: int = MISSING
    bank_size: int = MISSING
    objective_bank_size: int = MISSING
    seed: int = MISSING
    batch_size: int = MISSING
    lidar: LidarSettings = field(default_factory=LidarSettings)
    idest: IdestSettings = field(default_factory=IdestSettings)


def read_monitor(block: Any) -> MonitorSettings:
    """Checks a ``monitor`` block and returns it typed.

    Raises:
        ValueError: naming an unknown key, a missing one or a value of the wrong type.
    """
    return read_block(MonitorSettings, block, "monitor", "conf/train.yaml")
