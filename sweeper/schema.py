"""Typed config blocks: a block of ``conf/`` checked against a dataclass schema, with one
clear error.

The yaml files in ``conf/`` hold every default; a schema holds only the types (each field
``MISSING``). :func:`read_block` merges a block over ``OmegaConf.structured(schema)``: a wrong
type, an unknown key or a missing key is one ``ValueError`` naming the key.

Example:
    >>> from dataclasses import dataclass
    >>> from omegaconf import MISSING
    >>> @dataclass
    ... class Bootstrap:
    ...     n_resamples: int = MISSING
    ...     seed: int = MISSING
    >>> read_block(Bootstrap, {"n_resamples": "200", "seed": 0}, "bootstrap", "x.yaml")
    Bootstrap(n_resamples=200, seed=0)
    >>> read_block(Bootstrap, {"n_resample": 200, "seed": 0}, "bootstrap", "x.yaml")
    Traceback (most recent call last):
    ...
    ValueError: unknown key bootstrap.n_resample (did you mean n_resamples?); x.yaml lists every key
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any, TypeVar

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import (
    ConfigKeyError,
    MissingMandatoryValue,
    OmegaConfBaseException,
    ValidationError,
)

__all__ = ["read_block"]

T = TypeVar("T")


def _did_you_mean(base: DictConfig, full_key: str) -> str:
    parent, _, key = full_key.rpartition(".")
    node = OmegaConf.select(base, parent) if parent else base
    keys = [str(k) for k in node.keys()] if isinstance(node, DictConfig) else []
    close = difflib.get_close_matches(key, keys, n=1, cutoff=0.5)
    return f" (did you mean {close[0]}?)" if close else ""


def read_block(schema: type[T], block: Mapping[str, Any] | DictConfig, name: str,
               source: str) -> T:
    """``block`` checked against ``schema`` and returned as a ``schema`` instance.

    Args:
        schema: a dataclass whose fields are all ``MISSING`` (the defaults live in yaml).
        block: the block, a mapping or a config node (resolved here, in its own config).
        name: the block's key, e.g. ``sweep`` (errors name ``sweep.<key>``).
        source: where the block's keys are listed, e.g. ``conf/sweep.yaml``.

    Raises:
        ValueError: for an unknown key (with the nearest known one), a missing key or a
            value of the wrong type.
    """
    raw = OmegaConf.to_container(block, resolve=True) if isinstance(block, DictConfig) \
        else dict(block)
    if not isinstance(raw, dict):
        raise ValueError(f"{name} must be a mapping, got {raw!r}")
    base = OmegaConf.structured(schema)
    try:
        return OmegaConf.to_object(OmegaConf.merge(base, raw))  # type: ignore[return-value]
    except ConfigKeyError as err:
        key = str(err.full_key)
        raise ValueError(f"unknown key {name}.{key}{_did_you_mean(base, key)}; {source} lists "
                         "every key") from None
    except MissingMandatoryValue as err:
        raise ValueError(f"{name}.{err.full_key} is missing; {source} lists every key") from None
    except (ValidationError, OmegaConfBaseException) as err:
        detail = str(getattr(err, "msg", err)).strip().splitlines()[0]
        key = str(err.full_key or "")
        if key.split(".")[0] not in raw:  # a whole node of the wrong kind, or a list item
            key = _first_bad_key(base, raw)
        raise ValueError(f"{name}.{key}: {detail}" if key else f"{name}: {detail}") from None


def _first_bad_key(base: DictConfig, raw: Mapping[Any, Any]) -> str:
    for key, value in raw.items():
        try:
            OmegaConf.merge(base, {key: value})
        except OmegaConfBaseException:
            return str(key)
    return ""
