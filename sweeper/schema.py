"""Typed config blocks: a block of ``conf/`` checked against a dataclass schema, with one
clear error.

The yaml files in ``conf/`` hold every default; a schema holds only the types (each field
``MISSING``), and a schema's ``__post_init__`` holds the rules on its values. :func:`read_block`
merges a block over ``OmegaConf.structured(schema)``: a wrong type, an unknown key or a
missing key is one :class:`ConfigError` naming the key. Every config error of the project
says "did you mean" the same way (:func:`did_you_mean`).

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
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    sweeper.schema.ConfigError: unknown key bootstrap.n_resample (did you mean n_resamples?); ...
"""

from __future__ import annotations

import dataclasses
import difflib
import typing
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import (
    ConfigKeyError,
    MissingMandatoryValue,
    OmegaConfBaseException,
    ValidationError,
)

__all__ = ["ConfigError", "did_you_mean", "int_at_least", "nearest", "read_block", "schema_part",
           "unknown_choice"]

T = TypeVar("T")


class ConfigError(ValueError):
    """A bad config: unknown key, unknown choice, or a value out of range."""


def int_at_least(key: str, value: object, minimum: int, unit: str = "") -> int:
    """``value`` if it is an integer (not a bool) >= ``minimum``; else a :class:`ConfigError`
    naming ``key``, e.g. ``sweep.workers must be an integer >= 1, got 0``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{key} must be an integer >= {minimum}{unit}, got {value!r}")
    return value


def nearest(word: str, candidates: Sequence[str], n: int = 1) -> list[str]:
    """Up to ``n`` candidates closest to ``word`` (difflib ratio), best first."""
    return difflib.get_close_matches(word, list(candidates), n=n, cutoff=0.5)


def did_you_mean(word: str, candidates: Sequence[str], n: int = 1) -> str:
    """The hint after an unknown name: ``" (did you mean x?)"`` for one suggestion,
    ``"; did you mean: x, y?"`` when up to ``n > 1`` are offered (config keys, where a typo
    is often near several keys), ``""`` when none is near.

    Example:
        >>> did_you_mean("simclrr", ["simclr", "byol"])
        ' (did you mean simclr?)'
        >>> did_you_mean("max_epoch", ["max_epochs", "seed"], n=3)
        '; did you mean: max_epochs?'
    """
    close = nearest(word, candidates, n)
    if not close:
        return ""
    return f" (did you mean {close[0]}?)" if n == 1 else f"; did you mean: {', '.join(close)}?"


def unknown_choice(what: str, value: object, choices: Sequence[str]) -> str:
    """The message for a value outside its choices (a method, a dataset, a launcher...)."""
    return (f"unknown {what} {value!r}{did_you_mean(str(value), choices)}; "
            f"choose one of: {', '.join(choices)}")


def schema_part(schema: type, cfg: DictConfig) -> dict[str, Any]:
    """The keys of ``cfg`` that ``schema``'s fields name (a nested dataclass field: its own
    fields), resolved; keys ``cfg`` lacks are left out (:func:`read_block` names them). For a
    schema that types a few keys of a larger config whose other keys are read elsewhere."""
    hints = typing.get_type_hints(schema)
    part: dict[str, Any] = {}
    for f in dataclasses.fields(schema):
        if f.name not in cfg:
            continue
        node = cfg[f.name]
        if dataclasses.is_dataclass(hints[f.name]) and isinstance(node, DictConfig):
            part[f.name] = schema_part(hints[f.name], node)
        else:
            part[f.name] = OmegaConf.to_container(node, resolve=True) \
                if OmegaConf.is_config(node) else node
    return part


def _key(name: str, key: str) -> str:
    return f"{name}.{key}" if name else key


def read_block(schema: type[T], block: Mapping[str, Any] | DictConfig, name: str,
               source: str) -> T:
    """``block`` checked against ``schema`` and returned as a ``schema`` instance.

    Args:
        schema: a dataclass whose fields are all ``MISSING`` (the defaults live in yaml);
            its ``__post_init__`` may refuse values (a :class:`ConfigError` naming the key).
        block: the block, a mapping or a config node (resolved here, in its own config).
        name: the block's key, e.g. ``sweep`` (errors name ``sweep.<key>``); ``""`` for a
            whole config (errors name ``<key>``).
        source: where the block's keys are listed, e.g. ``conf/sweep.yaml``.

    Raises:
        ConfigError: for an unknown key (with the nearest known one), a missing key or a
            value of the wrong type.
    """
    raw = OmegaConf.to_container(block, resolve=True) if isinstance(block, DictConfig) \
        else dict(block)
    if not isinstance(raw, dict):
        raise ConfigError(f"{name or 'a config'} must be a mapping, got {raw!r}")
    base = OmegaConf.structured(schema)
    try:
        return OmegaConf.to_object(OmegaConf.merge(base, raw))  # type: ignore[return-value]
    except ConfigKeyError as err:
        key = str(err.full_key)
        raise ConfigError(f"unknown key {_key(name, key)}{_near_key(base, key)}; {source} "
                          "lists every key") from None
    except MissingMandatoryValue as err:
        raise ConfigError(f"{_key(name, str(err.full_key))} is missing; {source} lists every "
                          "key") from None
    except (ValidationError, OmegaConfBaseException) as err:
        detail = str(getattr(err, "msg", err)).strip().splitlines()[0]
        key = str(err.full_key or "")
        if key.split(".")[0] not in raw:  # a whole node of the wrong kind, or a list item
            key = _first_bad_key(base, raw)
        raise ConfigError(f"{_key(name, key)}: {detail}" if key or not name
                          else f"{name}: {detail}") from None


def _near_key(base: DictConfig, full_key: str) -> str:
    parent, _, key = full_key.rpartition(".")
    node = OmegaConf.select(base, parent) if parent else base
    keys = [str(k) for k in node.keys()] if isinstance(node, DictConfig) else []
    return did_you_mean(key, keys)


def _first_bad_key(base: DictConfig, raw: Mapping[Any, Any]) -> str:
    for key, value in raw.items():
        try:
            OmegaConf.merge(base, {key: value})
        except OmegaConfBaseException:
            return str(key)
    return ""
