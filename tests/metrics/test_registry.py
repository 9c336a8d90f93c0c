"""The metric registry is the one table every room reads."""

from __future__ import annotations

import numpy as np
import pytest
from omegaconf import OmegaConf

from sweeper.config import compose_config
from sweeper.metrics import spectral_metrics
from sweeper.metrics.registry import (
    METRICS,
    RECORDED,
    SELECTING,
    SPECTRAL,
    direction_of,
    label_of,
    metric,
)
from sweeper.oracle.selection import pick_direction
from sweeper.report.tables import criterion_label
from sweeper.ssl.monitor import PEERS
from sweeper.study.settings import read_settings


def test_spectral_keys_are_what_spectral_metrics_computes() -> None:
    out = spectral_metrics(np.random.default_rng(0).normal(size=(50, 8)))
    assert set(SPECTRAL) == set(out) - {"n", "dim"}
    assert PEERS == SPECTRAL
    assert {f"{k}_projector" for k in SPECTRAL} <= set(RECORDED)


def test_every_room_reads_the_same_directions_and_labels() -> None:
    selecting = [m for m in METRICS if m.selects]
    assert SELECTING == tuple(m.name for m in selecting)
    sweep = OmegaConf.to_container(compose_config([], config_name="sweep").sweep, resolve=True)
    assert isinstance(sweep, dict)
    for m in selecting:  # the study's default direction, the oracle's pick, the report's label
        assert read_settings({**sweep, "objective": m.name, "direction": None}
                             ).directions == (m.direction,)
        assert pick_direction(m.name) == m.direction[:3]
    assert all(criterion_label(m.name) == m.label for m in METRICS)
    assert direction_of("alpha_req") == "minimize"  # flatter spectrum: less collapse


def test_projector_keys_and_unknown_names() -> None:
    assert direction_of("alpha_req_projector") == "minimize"
    assert label_of("nesum_projector") == "NESum (projector)"
    assert label_of("something_else") == "something_else"
    with pytest.raises(ValueError, match="unknown metric 'rankmee'; known: rankme"):
        metric("rankmee")
