"""Shared fixtures: small real trainings on sklearn's digits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from omegaconf import DictConfig

from sweeper.config import compose_config

# Small heads keep each CPU run to a few seconds; everything else is the shipped config.
SMALL = ["method_kwargs.proj_hidden_dim=256", "method_kwargs.proj_output_dim=64"]


def digits_cfg(*overrides: str, small: bool = True) -> DictConfig:
    """The default digits training config with ``overrides`` (and small heads)."""
    return compose_config([*(SMALL if small else []), "max_epochs=2", *overrides])


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One completed 2-epoch SimCLR run on digits (its metrics, run dir and config)."""
    from sweeper.ssl import train

    run_dir = tmp_path_factory.mktemp("simclr_run")
    cfg = digits_cfg("monitor.bank_size=25600")  # the whole train split, as score uses
    metrics = train(cfg, run_dir)
    return {"metrics": metrics, "run_dir": Path(run_dir), "cfg": cfg}
