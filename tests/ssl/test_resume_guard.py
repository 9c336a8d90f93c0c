"""auto_resume resumes only its own run's recent checkpoint; another run's is an error
raised before anything is written."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from omegaconf import DictConfig, OmegaConf

from sweeper.config import ConfigError
from sweeper.ssl import train
from sweeper.ssl.build import checked_config
from sweeper.ssl.resume import resume_path
from tests.ssl.conftest import digits_cfg


def _cfg(*overrides: str) -> DictConfig:
    return checked_config(digits_cfg("auto_resume.enabled=true", *overrides))


def _write_last(path: Path, cfg: DictConfig) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"rankme_sweeper": {"config": OmegaConf.to_container(cfg, resolve=True)}}, path)
    return path


def test_a_recent_checkpoint_of_the_same_config_is_resumed(tmp_path: Path) -> None:
    cfg = _cfg()
    last = _write_last(tmp_path / "last.ckpt", cfg)
    assert resume_path(cfg, last) == str(last)
    cfg.auto_resume.enabled = False
    assert resume_path(cfg, last) is None


def test_a_checkpoint_older_than_max_hours_starts_afresh(tmp_path: Path) -> None:
    cfg = _cfg("auto_resume.max_hours=0")
    last = _write_last(tmp_path / "last.ckpt", cfg)
    with pytest.warns(UserWarning, match="auto_resume.max_hours"):
        assert resume_path(cfg, last) is None


@pytest.mark.parametrize("override", ["optimizer.lr=0.7", "method=byol", "max_epochs=5",
                                      "optimizer.batch_size=64"])
def test_another_runs_checkpoint_is_refused_and_nothing_is_written(tmp_path: Path,
                                                                   override: str) -> None:
    _write_last(tmp_path / "checkpoints" / "last.ckpt", _cfg())
    (tmp_path / "config.yaml").write_text("the first run's\n")
    key = override.split("=")[0]
    with pytest.raises(ConfigError, match=f"another run's checkpoint.*{key}"):
        train(_cfg(override), tmp_path)
    assert (tmp_path / "config.yaml").read_text() == "the first run's\n"
    assert not (tmp_path / "metrics.json").exists()
