"""Every shipped config block fits its typed schema, and the schemas hold no defaults."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from omegaconf import MISSING

from sweeper.config import CONF_DIR, compose_config
from sweeper.oracle.compare_settings import CompareSettings, read_compare
from sweeper.schema import ConfigError, did_you_mean, read_block
from sweeper.ssl.build import checked_config
from sweeper.ssl.monitor_settings import MonitorSettings, read_monitor
from sweeper.ssl.train_settings import TrainSettings, read_training
from sweeper.study.settings import (
    LocalLauncher,
    SlurmLauncher,
    SweepSchema,
    read_launcher,
    read_settings,
)

EXPERIMENTS = sorted(p.stem for p in (Path(CONF_DIR) / "experiment").glob("*.yaml"))


@pytest.mark.parametrize("overrides", [[], ["launcher=slurm"],
                                       *([f"experiment={e}"] for e in EXPERIMENTS)])
def test_shipped_configs_fit_every_schema(overrides, tmp_path):
    cfg = compose_config(overrides, config_name="compare")
    read_settings(cfg.sweep, base=tmp_path)
    read_launcher(cfg.launcher)
    monitor = read_monitor(cfg.monitor)
    compare = read_compare(cfg.compare)
    assert read_training(cfg).max_epochs >= 1  # its training keys, beside the sweep blocks
    assert monitor.lidar.n_images > 0 and compare.bootstrap.n_resamples > 0


@pytest.mark.parametrize("schema", [SweepSchema, LocalLauncher, SlurmLauncher, MonitorSettings,
                                    CompareSettings, TrainSettings])
def test_schemas_hold_types_not_defaults(schema):
    """The yaml files in conf/ hold every default: a schema field is MISSING or a group."""
    for f in dataclasses.fields(schema):
        if f.default_factory is not dataclasses.MISSING:  # a nested group
            test_schemas_hold_types_not_defaults(f.default_factory)
        else:
            assert f.default == MISSING, f"{schema.__name__}.{f.name} has a default"


def test_a_bad_monitor_block_names_the_key():
    cfg = compose_config(["monitor.every_n_epochs=often"])
    with pytest.raises(ValueError, match="monitor.every_n_epochs: Value 'often'"):
        read_monitor(cfg.monitor)
    good = compose_config([]).monitor
    with pytest.raises(ValueError, match=r"unknown key monitor.lidar.n_image \(did you mean "
                                         r"n_images\?\)"):
        read_monitor({**good, "lidar": {**good.lidar, "n_image": 3}})


def test_read_block_reports_a_missing_key():
    @dataclasses.dataclass
    class Two:
        a: int = MISSING
        b: str = MISSING

    with pytest.raises(ValueError, match="block.b is missing; x.yaml lists every key"):
        read_block(Two, {"a": 1}, "block", "x.yaml")


@pytest.mark.parametrize(("overrides", "message"), [
    (["max_epochs=0"], "max_epochs must be >= 1, got 0"),
    (["max_epochs=many"], "max_epochs: Value 'many'"),
    (["scheduler.name=cosin"], "unknown scheduler 'cosin' (did you mean cosine?); choose one of"),
    (["data.format=dali"], "data.format='dali' is not supported"),
    (["strategy=ddp_spawn"], "strategy='ddp_spawn' trains in child processes"),
    (["augmentations=[]"], "augmentations is empty: give at least one view pipeline"),
])
def test_the_training_config_is_read_as_a_typed_block(overrides, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        checked_config(compose_config(overrides))


def test_the_training_rules_are_config_errors():
    with pytest.raises(ConfigError, match="optimizer.batch_size: Value 'big'"):
        read_training(compose_config(["optimizer.batch_size=big"]))


def test_did_you_mean_offers_one_name_or_several_keys():
    assert did_you_mean("simclrr", ["simclr", "byol"]) == " (did you mean simclr?)"
    assert did_you_mean("max_epoch", ["max_epochs", "seed"], n=3) == "; did you mean: max_epochs?"
    assert did_you_mean("zzz", ["simclr"]) == ""
