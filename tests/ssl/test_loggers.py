"""W&B logging from solo-learn's ``wandb`` block: a warning when the extra is missing."""

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
    assert [type(x).__name__ for x in loggers] == ["CSVLogger"]


def test_wandb_disabled_is_silent(tmp_path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loggers = build_loggers(digits_cfg(), tmp_path)
    assert [type(x).__name__ for x in loggers] == ["CSVLogger"]
