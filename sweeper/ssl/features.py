"""Frozen backbone features of a checkpoint, per split, for label-free scores and oracles.

The backbone architecture comes from the config stored in our checkpoints, or, for a
solo-learn checkpoint, from the ``args.json`` beside it (backbone, its kwargs, the CIFAR
stem for cifar10/cifar100, the crop size, and solo-learn's evaluation normalization for the
dataset); without either, from ``cfg.backbone``. The method named there picks its own
variant of the backbone where it has one (mocov3, mae: their own ViTs; our checkpoints
record the variant they hold, and those written before the variants existed hold timm's plain
ViTs, so they are read as such). The data and the
un-augmented eval view (centre crop to the training crop size, normalize) come from ``cfg``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf

from sweeper.ssl.backbones import BACKBONES, build_backbone
from sweeper.ssl.build import checked_config
from sweeper.ssl.checkpoints import (
    SOLO_EVAL_NORMALIZATION,
    backbone_state,
    load_checkpoint,
    solo_learn_args,
    stored_backbone_method,
    stored_config,
)
from sweeper.ssl.data.datasets import available_splits, build_dataset
from sweeper.ssl.data.loader import EpochBatchSampler, make_loader
from sweeper.ssl.data.views import EvalView, crop_size_of
from sweeper.ssl.inference import inference_backbone, to_input_layout

__all__ = ["extract_features", "load_backbone", "save_features"]


def load_backbone(checkpoint: Path, cfg: DictConfig) -> tuple[torch.nn.Module, DictConfig]:
    """The checkpoint's backbone in eval mode, and the config it was built from.

    Raises:
        ValueError: for an unreadable or code-carrying checkpoint, or weights that do not
            fit the backbone.
    """
    ckpt = load_checkpoint(checkpoint)
    cfg = checked_config(cfg)
    stored = stored_config(ckpt)
    small_stem: bool | None = None
    method: str | None = str(cfg.method)
    if stored is not None:
        method = stored_backbone_method(ckpt)
        cfg = cfg.copy()
        OmegaConf.set_struct(cfg, False)
        cfg.backbone = stored["backbone"]
        cfg.data.channels = stored["data"]["channels"]
        cfg.augmentations = stored["augmentations"]
    else:
        args = solo_learn_args(checkpoint)
        if args is not None:
            cfg, small_stem = _solo_learn_config(cfg, args, checkpoint)
            method = str(args["method"])  # solo-learn's mocov3 and mae have their own ViTs
    net, _ = build_backbone(str(cfg.backbone.name), int(cfg.data.channels),
                            crop_size_of(cfg.augmentations),
                            OmegaConf.to_container(cfg.backbone.kwargs, resolve=True),  # type: ignore[arg-type]
                            small_stem=small_stem, method=method)
    state = backbone_state(ckpt)
    missing, unexpected = net.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise ValueError(
            f"checkpoint {str(checkpoint)!r} does not fit backbone {cfg.backbone.name!r}: "
            f"missing {sorted(missing)[:5]}, unexpected {sorted(unexpected)[:5]}")
    return net.eval(), cfg


def _solo_learn_config(cfg: DictConfig, args: dict, checkpoint: Path
                       ) -> tuple[DictConfig, bool]:
    """``cfg`` with the backbone, crop size and normalization of a solo-learn run, and
    whether its ResNet had the CIFAR stem (solo-learn: dataset cifar10 or cifar100)."""
    dataset, name = str(args["data"]["dataset"]), str(args["backbone"]["name"])
    if name not in BACKBONES:
        raise ValueError(f"checkpoint {str(checkpoint)!r}: its args.json names backbone "
                         f"{name!r}, which this project does not build; it builds: "
                         f"{', '.join(BACKBONES)}")
    if dataset != "custom" and dataset != str(cfg.data.dataset):
        raise ValueError(f"checkpoint {str(checkpoint)!r} was trained on {dataset} (its "
                         f"args.json) but the data given is {cfg.data.dataset}: name its data, "
                         f"e.g. data={dataset} data.train_path=DIR")
    cfg = cfg.copy()
    OmegaConf.set_struct(cfg, False)
    cfg.backbone = {"name": name, "kwargs": args["backbone"].get("kwargs") or {}}
    crops = args.get("augmentations") or [{"crop_size": crop_size_of(cfg.augmentations)}]
    cfg.augmentations = [{"crop_size": int(crops[0]["crop_size"])}]
    mean, std = SOLO_EVAL_NORMALIZATION.get(dataset, (cfg.data.mean, cfg.data.std))
    cfg.data.mean, cfg.data.std, cfg.data.channels = list(mean), list(std), 3
    return cfg, dataset in ("cifar10", "cifar100")


@torch.no_grad()
def extract_features(checkpoint: Path, cfg: DictConfig,
                     splits: Sequence[str] = ("train", "val", "test"),
                     batch_size: int = 512, fast: bool = True
                     ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Frozen backbone features (``N x K`` float32) and int labels (-1: none) per split.

    Splits the dataset lacks are skipped (CIFAR has train and test; an image folder has
    train, and val when ``data.val_path`` is set).

    Args:
        checkpoint: ours (Lightning, ``method.backbone.*``) or solo-learn's (``backbone.*``).
        cfg: a training config naming the dataset (e.g. composed with ``data=digits``).
        splits: the splits wanted.
        batch_size: images per forward pass.
        fast: run a copy of the backbone with BatchNorm folded and channels-last layout
            (:mod:`sweeper.ssl.inference`; the same features up to float rounding); False:
            the backbone as loaded (the reference, for benchmarks).

    Raises:
        ValueError: for a bad checkpoint, config or data.
    """
    net, cfg = load_backbone(Path(checkpoint), cfg)
    device = torch.device("cuda" if torch.cuda.is_available()
                          and str(cfg.accelerator) != "cpu" else "cpu")
    net.to(device)
    if fast:
        net = inference_backbone(net)
    layout = to_input_layout if fast else (lambda t: t)
    view = EvalView(crop_size_of(cfg.augmentations), cfg.data.mean, cfg.data.std)
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for split in splits:
        if split not in available_splits(cfg.data):
            continue
        ds = build_dataset(cfg.data, split)
        sampler = EpochBatchSampler(len(ds), min(batch_size, len(ds)), shuffle=False,
                                    drop_last=False)
        feats, labels = [], []
        for images, y in make_loader(ds, sampler, num_workers=int(cfg.data.num_workers)):
            feats.append(net(layout(view(images.to(device)))).float().cpu())
            labels.append(y)
        out[split] = (torch.cat(feats).numpy().astype(np.float32),
                      torch.cat(labels).numpy().astype(np.int64))
    return out


def save_features(features: dict[str, tuple[np.ndarray, np.ndarray]], out_dir: Path
                  ) -> list[Path]:
    """Write ``out_dir/<split>.npz`` with arrays ``features`` (N x K) and ``labels`` (N,)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for split, (x, y) in features.items():
        path = out_dir / f"{split}.npz"
        np.savez(path, features=x, labels=y)
        written.append(path)
    return written
