"""Downstream datasets of the oracle: the in-domain one and a configured list of others.

Each entry of ``compare.ood`` is ``{name, data_group, data, note}``: the trial's training
config gets the ``data`` block of ``conf/data/<data_group>.yaml`` (when given), then the
``data`` mapping merged over it (paths, split seeds), and features are extracted with that.
The probe is trained on the entry's train split and scored on its test split (``test``
when the dataset has one, else ``val``, as ImageNet's validation set serves as its test).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from omegaconf import DictConfig, OmegaConf

from sweeper.config import compose_config
from sweeper.ssl.data.datasets import available_splits

__all__ = ["DownstreamDataset", "dataset_config", "downstream_datasets", "held_out_split"]

ENTRY_KEYS = ("name", "data_group", "data", "note")


@dataclass(frozen=True)
class DownstreamDataset:
    """One dataset the oracle probes on; ``in_domain`` is the training dataset itself."""

    name: str
    in_domain: bool
    data_group: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    note: str = ""


def downstream_datasets(in_domain_name: str,
                        ood: Sequence[Mapping[str, Any]]) -> list[DownstreamDataset]:
    """The in-domain dataset followed by the ``compare.ood`` entries.

    Raises:
        ValueError: for an entry without a name, with unknown keys, or a repeated name.
    """
    out = [DownstreamDataset(in_domain_name, True, note="the training dataset")]
    for i, entry in enumerate(ood):
        unknown = set(entry) - set(ENTRY_KEYS)
        if unknown or not entry.get("name"):
            raise ValueError(f"compare.ood[{i}] = {dict(entry)!r}: each entry needs a 'name' "
                             f"and may hold only {', '.join(ENTRY_KEYS)}")
        name = str(entry["name"])
        if name in {d.name for d in out}:
            raise ValueError(f"compare.ood[{i}]: dataset name {name!r} is used twice; names "
                             "are the cache folders and must be unique")
        raw = entry.get("data") or {}
        data = OmegaConf.to_container(raw) if isinstance(raw, DictConfig) else dict(raw)
        assert isinstance(data, dict)
        out.append(DownstreamDataset(name, False, entry.get("data_group"),
                                     {str(k): v for k, v in data.items()},
                                     str(entry.get("note") or "")))
    return out


def dataset_config(train_cfg: DictConfig, dataset: DownstreamDataset) -> DictConfig:
    """The trial's config with its ``data`` block replaced for ``dataset``."""
    if dataset.in_domain:
        return train_cfg
    cfg = OmegaConf.create(OmegaConf.to_container(train_cfg, resolve=True))
    assert isinstance(cfg, DictConfig)
    if dataset.data_group:
        group = compose_config([f"data={dataset.data_group}"])
        cfg.data = OmegaConf.merge(cfg.data, group.data)
    cfg.data = OmegaConf.merge(cfg.data, OmegaConf.create(dataset.data))
    return cfg


def held_out_split(cfg: DictConfig, override: str | None) -> str:
    """The split the oracle scores on: ``override``, else ``test`` when the dataset has one,
    else ``val``.

    Raises:
        ValueError: if the dataset has neither (or not ``override``).
    """
    splits = tuple(available_splits(cfg.data))
    if override is not None:
        if override not in splits or override == "train":
            raise ValueError(f"compare.test_split={override!r} is not a held-out split of "
                             f"{cfg.data.dataset!r}; it has: {', '.join(splits)}")
        return override
    for name in ("test", "val"):
        if name in splits:
            return name
    raise ValueError(f"dataset {cfg.data.dataset!r} has no held-out split (only "
                     f"{', '.join(splits)}); set data.val_path to a labelled folder")
