"""The metric registry is the one table every room reads."""

from __future__ import annotations

import numpy as np
import pytest

from sweeper.metrics import spectral_metrics
from sweeper.metrics.registry import METRICS, SPECTRAL, direction_of, label_of, metric
from sweeper.oracle.selection import METRIC_DIRECTIONS
from sweeper.report.tables import CRITERION_LABELS
from sweeper.ssl.monitor import PEERS
from sweeper.ssl.train import FINAL_KEYS
from sweeper.study.settings import DEFAULT_DIRECTIONS


def test_spectral_keys_are_what_spectral_metrics_computes() -> None:
    out = spectral_metrics(np.random.default_rng(0).normal(size=(50, 8)))
    assert set(SPECTRAL) == set(out) - {"n", "dim"}
    assert PEERS == SPECTRAL
    assert {f"{k}_projector" for k in SPECTRAL} <= set(FINAL_KEYS)


def test_every_room_reads_the_same_directions_and_labels() -> None:
    selecting = [m for m in METRICS if m.selects]
    assert DEFAULT_DIRECTIONS == {m.name: m.direction for m in selecting}
    assert METRIC_DIRECTIONS == {m.name: m.direction[:3] for m in selecting}
    assert all(CRITERION_LABELS[m.name] == m.label for m in METRICS)
    assert DEFAULT_DIRECTIONS["alpha_req"] == "minimize"  # flatter spectrum: less collapse


def test_projector_keys_and_unknown_names() -> None:
    assert direction_of("alpha_req_projector") == "minimize"
    assert label_of("nesum_projector") == "NESum (projector)"
    assert label_of("something_else") == "something_else"
    with pytest.raises(ValueError, match="unknown metric 'rankmee'; known: rankme"):
        metric("rankmee")
