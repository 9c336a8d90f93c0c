"""The ``compare`` block of a config, typed; its defaults live in conf/compare.yaml."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from omegaconf import MISSING

from sweeper.schema import read_block

__all__ = ["BootstrapSettings", "CompareSettings", "ProbeSettings", "read_compare"]


@dataclass
class ProbeSettings:
    """``compare.probe``: the linear probe's and kNN's grids (see ``OracleSettings``)."""

    weight_decays: list[float] = MISSING
    knn_ks: list[int] = MISSING
    val_fraction: float = MISSING
    seed: int = MISSING
    max_iter: int = MISSING
    device: str | None = MISSING


@dataclass
class BootstrapSettings:
    """``compare.bootstrap``: the correlations' confidence intervals."""

    n_resamples: int = MISSING
    seed: int = MISSING


@dataclass
class CompareSettings:
    """``compare``: what the oracle measures and the report shows."""

    metrics: list[str] = MISSING
    probe: ProbeSettings = field(default_factory=ProbeSettings)
    test_split: str | None = MISSING
    # {name, data_group, data, note} entries, checked by downstream_datasets
    ood: list[Any] = MISSING
    include_stopped: bool = MISSING
    per_axis: bool = MISSING
    bootstrap: BootstrapSettings = field(default_factory=BootstrapSettings)
    output_dir: str | None = MISSING


def read_compare(block: Any) -> CompareSettings:
    """Checks a ``compare`` block and returns it typed.

    Raises:
        ValueError: naming an unknown key, a missing one or a value of the wrong type.
    """
    return read_block(CompareSettings, block, "compare", "conf/compare.yaml")
