"""Checkpoints as data: weights-only loading, ours and solo-learn's.

A checkpoint is read with ``torch.load(..., weights_only=True)``: tensors, numbers,
strings, lists and dicts, never Python objects that would run code when unpickled.
Ours are Lightning checkpoints whose ``state_dict`` holds ``method.backbone.*`` and whose
``rankme_sweeper`` entry holds the run's resolved config; solo-learn's hold ``backbone.*``
and are saved beside the ``args.json`` that solo-learn writes (its resolved config: method,
backbone, dataset, augmentations), which :func:`solo_learn_args` reads.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import torch

__all__ = ["SOLO_EVAL_NORMALIZATION", "backbone_state", "load_checkpoint", "solo_learn_args",
           "stored_config"]

_CIFAR = ((0.4914, 0.4822, 0.4465), (0.247, 0.243, 0.261))
_IMAGENET = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
# The (mean, std) solo-learn's evaluation pipelines normalize with, per dataset
# (solo/data/classification_dataloader.py: CIFAR-100 too uses CIFAR-10's numbers).
SOLO_EVAL_NORMALIZATION: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "cifar10": _CIFAR, "cifar100": _CIFAR,
    "stl10": ((0.4914, 0.4823, 0.4466), (0.247, 0.243, 0.261)),
    "imagenet": _IMAGENET, "imagenet100": _IMAGENET, "custom": _IMAGENET,
}

_PREFIXES = ("method.backbone.", "backbone.", "module.backbone.")


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load ``path`` weights-only.

    Raises:
        ValueError: if the file is missing, not a checkpoint, or needs arbitrary unpickling.
    """
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"checkpoint {str(p)!r} does not exist")
    try:
        ckpt = torch.load(p, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValueError(
            f"checkpoint {str(p)!r} refused: it needs arbitrary unpickling (it stores Python "
            f"objects, not only tensors and plain data), and a checkpoint is data, never code "
            f"({first[:200]})") from None
    except (RuntimeError, EOFError, OSError) as exc:
        raise ValueError(f"checkpoint {str(p)!r} is not a readable torch checkpoint: "
                         f"{str(exc).splitlines()[0][:200]}") from None
    if not isinstance(ckpt, dict):
        raise ValueError(f"checkpoint {str(p)!r} holds a {type(ckpt).__name__}, not a dict "
                         "with a state_dict")
    return ckpt


def solo_learn_args(checkpoint: str | Path) -> dict[str, Any] | None:
    """The ``args.json`` solo-learn saved beside ``checkpoint`` (None when there is none).

    Raises:
        ValueError: if the file is not a JSON object naming a method, a backbone and a
            dataset.
    """
    path = Path(checkpoint).parent / "args.json"
    if not path.is_file():
        return None
    try:
        args = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"{str(path)!r} is not readable JSON: {exc}") from None
    ok = (isinstance(args, dict) and isinstance(args.get("backbone"), dict)
          and isinstance(args.get("data"), dict) and "method" in args
          and "name" in args["backbone"] and "dataset" in args["data"])
    if not ok:
        raise ValueError(f"{str(path)!r} is not solo-learn's args.json: it needs method, "
                         "backbone.name and data.dataset")
    return args


def stored_config(ckpt: dict[str, Any]) -> dict[str, Any] | None:
    """The resolved training config saved in one of our checkpoints (None for others)."""
    meta = ckpt.get("rankme_sweeper")
    return meta.get("config") if isinstance(meta, dict) else None


def stored_backbone_method(ckpt: dict[str, Any]) -> str | None:
    """Whose backbone variant one of our checkpoints holds (see
    :func:`sweeper.ssl.backbones.variant_method`); None for the plain backbone, also for
    checkpoints written before the variants existed (they hold timm's plain ViTs)."""
    meta = ckpt.get("rankme_sweeper")
    value = meta.get("backbone_method") if isinstance(meta, dict) else None
    return None if value is None else str(value)


def backbone_state(ckpt: dict[str, Any]) -> dict[str, torch.Tensor]:
    """The backbone's weights with their prefix removed (``method.backbone.`` for ours,
    ``backbone.`` for solo-learn's); a bare state dict is accepted too.

    Raises:
        ValueError: if no backbone weights are found.
    """
    state = ckpt.get("state_dict", ckpt)
    if not isinstance(state, dict):
        raise ValueError("checkpoint has no state_dict")
    for prefix in _PREFIXES:
        found = {k[len(prefix):]: v for k, v in state.items()
                 if isinstance(k, str) and k.startswith(prefix) and isinstance(v, torch.Tensor)}
        if found:
            return found
    keys = ", ".join(list(state)[:5])
    raise ValueError(f"no backbone weights in the checkpoint: expected keys starting with "
                     f"{' or '.join(_PREFIXES)}; found e.g. {keys}")
