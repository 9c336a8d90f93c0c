"""Hydra composition helpers: the ``conf/`` folder, struct checks, choice checks.

Configs are data (``conf/*.yaml``); this module only finds them, composes them, completes a
foreign (solo-learn) config with our defaults, and turns composition errors into one-line
messages that name the bad key or value and the nearest valid ones (:func:`explain`, which
every subcommand's errors go through). Completing composes our defaults once per process
for each choice of groups (:func:`complete_config` keeps them), so checking a config twice,
or every point of a search space, costs no second Hydra composition.
"""

from __future__ import annotations

import copy
import importlib.resources
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.errors import HydraException, OverrideParseException
from omegaconf import DictConfig, ListConfig, OmegaConf

from sweeper.schema import ConfigError, did_you_mean, unknown_choice

__all__ = [
    "CONF_DIR",
    "ConfigError",
    "check_choices",
    "complete_config",
    "compose_config",
    "config_keys",
    "explain",
    "group_choices",
]


def _find_conf_dir() -> Path:
    """The configs: ``sweeper/conf`` in an installed wheel (the top-level ``conf/`` is mapped
    there at build time, see pyproject.toml), else the top-level ``conf/`` beside the package
    (a clone, an editable install)."""
    package = Path(str(importlib.resources.files("sweeper")))
    for candidate in (package / "conf", package.parent / "conf"):
        if (candidate / "train.yaml").is_file():
            return candidate
    raise RuntimeError(f"no conf/train.yaml in {package} or beside it: a broken install; "
                       "reinstall rankme-sweeper")


CONF_DIR = _find_conf_dir()

# config group -> the key whose value names the chosen option
GROUP_KEYS = {"method": "method", "backbone": "backbone.name", "data": "data.dataset",
              "optimizer": "optimizer.name"}


def group_choices(group: str, conf_dir: Path = CONF_DIR) -> list[str]:
    """Names of the options of a config group (the yaml files under ``conf_dir/group``)."""
    return sorted(p.stem for p in (conf_dir / group).glob("*.yaml"))


def config_keys(cfg: DictConfig | ListConfig, prefix: str = "") -> Iterator[str]:
    """Every dotted key of ``cfg`` (dict nodes only; list items are not descended)."""
    if not isinstance(cfg, DictConfig):
        return
    for key in cfg.keys():
        full = f"{prefix}{key!s}"
        yield full
        node = cfg._get_node(key)
        if isinstance(node, DictConfig) and not node._is_missing() and not node._is_none():
            yield from config_keys(node, prefix=f"{full}.")


@contextmanager
def _own_hydra(config_dir: Path) -> Iterator[None]:
    """Compose from ``config_dir`` even inside a running Hydra app (whose search path may
    be a user's folder): park the app's global state and restore it afterwards."""
    gh = GlobalHydra.instance()
    saved = gh.hydra if gh.is_initialized() else None
    gh.clear()
    try:
        with initialize_config_dir(config_dir=str(config_dir), version_base=None):
            yield
    finally:
        GlobalHydra.instance().clear()
        if saved is not None:
            GlobalHydra.instance().initialize(saved)


def _search_overrides(search_dirs: Sequence[Path]) -> list[str]:
    """Hydra's own override for folders searched on top of the primary one (--config-dir)."""
    if not search_dirs:
        return []
    return ["hydra.searchpath=[" + ",".join(f"file://{Path(d).resolve()}"
                                             for d in search_dirs) + "]"]


def _base_keys(config_name: str, config_dir: Path, search_dirs: Sequence[Path]) -> list[str]:
    try:
        with _own_hydra(config_dir):
            return list(config_keys(compose(config_name=config_name,
                                            overrides=_search_overrides(search_dirs))))
    except Exception:  # the base itself does not compose: no suggestions, the error stands
        return []


def _listed_options(text: str, group: str) -> list[str]:
    """The options Hydra lists under "Available options in 'group':" (every search dir)."""
    match = re.search(rf"Available options in '{re.escape(group)}':\n((?:\t.*\n?)*)", text)
    return [line.strip() for line in match.group(1).splitlines()] if match else []


def explain(exc: BaseException, config_name: str = "train", config_dir: Path = CONF_DIR,
            search_dirs: Sequence[Path] = ()) -> str:
    """One line for a failed composition: a misspelled key and the nearest valid keys, an
    unknown group option and the available ones, a bad override's syntax, else the first
    line of the error.

    Args:
        exc: what Hydra (or OmegaConf) raised while composing.
        config_name, config_dir, search_dirs: what was composed (the base config's keys are
            the suggestions for a misspelled key).
    """
    text = f"{exc} {exc.__cause__ or ''}"
    match = re.search(r"Key '([^']+)' is not in struct", text)
    if match:
        key = match.group(1)
        full = re.search(r"full_key: (\S+)", text)
        full_key = full.group(1) if full else key
        return (f"{_unknown_key(full_key, _base_keys(config_name, config_dir, search_dirs))}"
                f" (add a new key with +{full_key}=...)")
    match = re.search(r"Could not find '([^']+)/([^'/]+)'", text)
    if match:
        group, option = match.groups()
        label = "dataset" if group == "data" else group
        choices = _listed_options(str(exc), group) or group_choices(group, config_dir)
        return unknown_choice(label, option, choices)
    if isinstance(exc, OverrideParseException):
        return f"cannot parse override {exc.override!r}: {exc.message.splitlines()[0]}"
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _unknown_key(full_key: str, keys: Sequence[str]) -> str:
    """An unknown dotted key and the nearest known ones (else those nearest its last part)."""
    hint = did_you_mean(full_key, keys, n=3) or did_you_mean(
        full_key.rsplit(".", 1)[-1], [k.rsplit(".", 1)[-1] for k in keys], n=3)
    return f"unknown config key '{full_key}'{hint}"


def compose_config(overrides: Sequence[str] = (), config_name: str = "train",
                   config_dir: Path = CONF_DIR) -> DictConfig:
    """Compose ``config_name`` from ``config_dir`` with Hydra overrides (struct mode on).

    Args:
        overrides: Hydra overrides; ``hydra.*`` ones are left out.
        config_name: the primary config (``train``, ``sweep``, ``compare``).
        config_dir: the config folder.

    Raises:
        ConfigError: naming a misspelled key and its nearest valid keys, an unknown group
            option and the available ones, or a bad override.
    """
    user = [o for o in overrides if not o.lstrip("+~").startswith(("hydra.", "hydra/"))]
    with _own_hydra(config_dir):
        try:
            cfg = compose(config_name=config_name, overrides=list(user))
        except HydraException as exc:
            raise ConfigError(explain(exc, config_name, config_dir)) from None
    OmegaConf.set_struct(cfg, True)
    return cfg


@lru_cache(maxsize=64)
def _defaults(overrides: tuple[str, ...], conf_dir: Path) -> DictConfig:
    """``train`` composed with these group choices: once per process (a failed composition
    is not kept, it raises again)."""
    return compose_config(overrides, config_dir=conf_dir)


def complete_config(cfg: DictConfig, conf_dir: Path = CONF_DIR) -> DictConfig:
    """Return ``cfg`` filled up with our defaults where it is a foreign, partial config.

    A config that has every key of ``train`` composed with the groups its values name
    (method, backbone, dataset, optimizer) is returned as is; a partial one, such as a
    solo-learn pretrain file, is merged over that composition in struct mode: its keys must
    all be known ones.

    Raises:
        ConfigError: for an unknown group option or key.
    """
    check_choices(cfg, conf_dir)
    overrides = []
    for group, key in GROUP_KEYS.items():
        value = OmegaConf.select(cfg, key, default=None)
        if value is not None:
            overrides.append(f"{group}={value}")
    defaults = _defaults(tuple(overrides), conf_dir)
    if set(config_keys(defaults)) <= set(config_keys(cfg)):
        return cfg
    base = copy.deepcopy(defaults)  # the kept composition stays as composed
    # any backbone.kwargs key may come, as in solo-learn: the backbone's builder names a bad one
    OmegaConf.set_struct(base.backbone.kwargs, False)
    foreign = OmegaConf.create(OmegaConf.to_container(cfg, resolve=False))
    if "augmentations" in foreign and foreign.augmentations:
        base.augmentations = foreign.augmentations  # a list replaces ours whole
    try:
        merged = OmegaConf.merge(base, foreign)
    except Exception as exc:  # omegaconf raises ConfigKeyError etc.
        key = getattr(exc, "full_key", None) or str(exc).split("'")[1]
        raise ConfigError(_unknown_key(str(key), list(config_keys(base)))) from None
    assert isinstance(merged, DictConfig)
    OmegaConf.set_struct(merged, True)
    return merged


def check_choices(cfg: DictConfig, conf_dir: Path = CONF_DIR) -> None:
    """Raise :class:`ConfigError` unless method, backbone, dataset and optimizer name
    options that exist under ``conf_dir`` (checked before any work starts)."""
    for group, key in GROUP_KEYS.items():
        value = OmegaConf.select(cfg, key, default=None, throw_on_missing=False)
        choices = group_choices(group, conf_dir)
        if value is not None and str(value) not in choices:
            raise ConfigError(unknown_choice(group if group != "data" else "dataset",
                                             value, choices))
