"""solo-learn's 19 CIFAR pretraining configs, read from ``solo_learn/cifar/`` (its
``scripts/pretrain/cifar/`` copied byte for byte, see the README there).

Hydra composes each file as solo-learn's own ``main_pretrain.py`` does, so its ``defaults:``
list (the ``augmentations`` and ``wandb`` groups) is resolved by Hydra itself, not by a
second reader of that grammar here.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

CIFAR_DIR = Path(__file__).resolve().parent / "solo_learn" / "cifar"


def _compose_all() -> dict[str, dict[str, Any]]:
    configs: dict[str, dict[str, Any]] = {}
    # the context restores Hydra's global state, so a later `train` starts from scratch;
    # version_base is main_pretrain.py's
    with initialize_config_dir(config_dir=str(CIFAR_DIR), version_base="1.2"):
        for path in sorted(CIFAR_DIR.glob("*.yaml")):
            cfg = OmegaConf.to_container(compose(config_name=path.stem), resolve=True)
            assert isinstance(cfg, dict)
            configs[path.stem] = {str(k): v for k, v in cfg.items()}
    return configs


# name (the yaml's stem) -> the config it composes to, without Hydra's own `hydra:` block
CONFIGS: dict[str, dict[str, Any]] = _compose_all()


def config(name: str) -> dict[str, Any]:
    """The config ``scripts/pretrain/cifar/<name>.yaml`` composes to (a copy to edit)."""
    return copy.deepcopy(CONFIGS[name])
