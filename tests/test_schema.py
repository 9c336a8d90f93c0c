"""Every shipped config block fits its typed schema, and the schemas hold no defaults."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from omegaconf import MISSING

from sweeper.config import CONF_DIR, compose_config
from sweeper.oracle.compare_settings import CompareSettings, read_compare
from sweeper.schema import read_block
from sweeper.ssl.monitor_settings import MonitorSettings, read_monitor
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
    assert monitor.lidar.n_images > 0 and compare.bootstrap.n_resamples > 0


@pytest.mark.parametrize("schema", [SweepSchema, LocalLauncher, SlurmLauncher, MonitorSettings,
                                    CompareSettings])
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
