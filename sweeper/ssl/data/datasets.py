"""The datasets by name, read as un-augmented image sets (:mod:`sweeper.ssl.data.images`).

Loaders yield ``(images, labels)`` with images ``B x C x S x S`` (uint8, or float in
[0, 1] for digits) at the dataset's ``load_size``; views are made later, in batches, on the
training device (:mod:`sweeper.ssl.data.views`). Labels are int64, -1 where there are none;
pretraining never reads them.

Datasets: ``digits`` (sklearn's, embedded, fixed seeded stratified train/val/test split),
``cifar10``/``cifar100``/``stl10`` (torchvision files under ``data.train_path``; nothing is
downloaded unless ``data.download=true``), ``imagenet``/``imagenet100``/``custom`` (image
folders: class sub-folders, or a flat folder of unlabelled images).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torchvision
from omegaconf import DictConfig
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from sweeper.ssl.data.image_cache import cached_images
from sweeper.ssl.data.images import FolderImages, ImageSet, TensorImages

__all__ = [
    "DATASETS",
    "TORCHVISION",
    "TORCHVISION_FORMATS",
    "available_splits",
    "build_dataset",
    "check_data",
    "decoded_images",
    "digits_split",
]

TORCHVISION_FORMATS = ("image_folder", "torchvision")
DATASETS = ("digits", "cifar10", "cifar100", "stl10", "imagenet", "imagenet100", "custom")


def digits_split(seed: int, val_fraction: float, test_fraction: float
                 ) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """sklearn's 1,797 digits as float images in [0, 1] (``N x 1 x 8 x 8``), split
    stratified into train/val/test with ``seed`` (the same seed, the same split)."""
    digits = load_digits()
    x = torch.from_numpy((digits.data / 16.0).astype(np.float32)).reshape(-1, 1, 8, 8)
    y = torch.from_numpy(digits.target.astype(np.int64))
    idx = np.arange(len(y))
    rest, test = train_test_split(idx, test_size=test_fraction, random_state=seed,
                                  stratify=digits.target)
    train, val = train_test_split(rest, test_size=val_fraction / (1.0 - test_fraction),
                                  random_state=seed, stratify=digits.target[rest])
    return {name: (x[np.sort(part)], y[np.sort(part)])
            for name, part in (("train", train), ("val", val), ("test", test))}


# The datasets torchvision reads, and the folder its files sit in under data.train_path.
TORCHVISION = {"cifar10": "cifar-10-batches-py", "cifar100": "cifar-100-python",
               "stl10": "stl10_binary"}


def available_splits(data: DictConfig) -> tuple[str, ...]:
    """The splits a dataset has: train always, then val and/or test."""
    if data.dataset == "digits":
        return ("train", "val", "test")
    if data.dataset in TORCHVISION:
        return ("train", "test")
    return ("train", "val") if data.val_path else ("train",)


def _path(data: DictConfig, key: str) -> Path:
    value = data.get(key)
    if not value:
        raise ValueError(f"data.{key} is not set: dataset {data.dataset!r} reads local files "
                         f"(set data.{key}=/path/to/{data.dataset})")
    return Path(str(value)).expanduser()


def decoded_images(ds: FolderImages, data: DictConfig) -> ImageSet:
    """``ds`` from the decoded-image cache when it fits ``data.cache`` (see
    :mod:`sweeper.ssl.data.image_cache`), else as files decoded by the loader."""
    return cached_images(ds, data.get("cache"))


def _image_folder_split(data: DictConfig, split: str) -> Path | None:
    """The class-folder root of ``split`` for a torchvision dataset kept as image folders:
    ``train_path/<split>`` (the layout of ../shared/data/cifar10), or ``val_path`` for the
    held-out split when it is set. None when that layout is not there."""
    root = _path(data, "train_path")
    if split != "train" and data.val_path:
        return _path(data, "val_path")
    folder = root / ("test" if split == "labelled" else split)
    if folder.is_dir():
        return folder
    if split == "train" and data.val_path and root.is_dir():
        return root  # train_path is the train folder itself, val_path the held-out one
    return None


def _class_folders(data: DictConfig, split: str) -> Path | None:
    """Where a torchvision dataset's ``split`` is read from: None for torchvision's own files
    (there, or to be downloaded), else the class-folder root (see :func:`_image_folder_split`).
    solo-learn reads torchvision's files whatever data.format says; class folders are read
    when those files are absent.

    Raises:
        ValueError: when ``data.train_path`` is missing or empty, or neither layout is there,
            naming both.
    """
    root = _path(data, "train_path")  # torchvision's files hold every split
    files = root / TORCHVISION[str(data.dataset)]
    if files.is_dir() or data.download:
        return None
    if not root.is_dir() or next(root.iterdir(), None) is None:
        raise ValueError(f"data.train_path folder {str(root)!r} "
                         f"{'is empty' if root.is_dir() else 'does not exist'}: expected "
                         f"{files} (torchvision's files), or class folders under {root}/train "
                         f"and {root}/test; set data.download=true to download it")
    sub = _image_folder_split(data, split)
    if sub is None:
        raise ValueError(f"no {data.dataset} under {str(root)!r}: expected {files} "
                         f"(torchvision's files), or class folders under {root}/train and "
                         f"{root}/test; set data.download=true to download it")
    return sub


def _torchvision(data: DictConfig, split: str) -> ImageSet:
    name = str(data.dataset)
    fmt = str(data.format)
    if fmt not in TORCHVISION_FORMATS:
        raise ValueError(f"data.format={fmt!r} is not a format of {name!r}; choose one of: "
                         f"{', '.join(TORCHVISION_FORMATS)}")
    sub = _class_folders(data, split)
    if sub is not None:
        return decoded_images(FolderImages.scan(sub, int(data.load_size), int(data.channels)),
                              data)
    root = _path(data, "train_path")
    if name == "stl10":
        tv_split = {"train": "train+unlabeled", "test": "test", "labelled": "train"}[split]
        ds = torchvision.datasets.STL10(str(root), split=tv_split, download=bool(data.download))
        images = torch.from_numpy(ds.data)
        labels = torch.from_numpy(np.asarray(ds.labels, dtype=np.int64))
    else:
        cls = torchvision.datasets.CIFAR10 if name == "cifar10" else torchvision.datasets.CIFAR100
        ds = cls(str(root), train=split == "train", download=bool(data.download))
        images = torch.from_numpy(ds.data).permute(0, 3, 1, 2).contiguous()
        labels = torch.as_tensor(ds.targets, dtype=torch.long)
    return TensorImages(images, labels)


def _known(data: DictConfig) -> None:
    if data.dataset not in DATASETS:
        raise ValueError(f"unknown dataset {data.dataset!r}; choose one of: {', '.join(DATASETS)}")


def check_data(data: DictConfig) -> None:
    """Cheap check that the training split can be found, before any study or trial exists:
    the error :func:`build_dataset` would raise for missing files, without decoding an
    image (image folders are listed; torchvision's files only looked for).

    Raises:
        ValueError: for an unknown dataset or missing files.
    """
    _known(data)
    if data.dataset in TORCHVISION:
        _class_folders(data, "train")
    elif data.dataset != "digits":
        FolderImages.scan(_path(data, "train_path"), int(data.load_size), int(data.channels))


def build_dataset(data: DictConfig, split: str = "train", pretrain: bool = False) -> ImageSet:
    """The ``split`` of the dataset ``data.dataset`` (train for pretraining).

    Args:
        data: the ``data`` config block.
        split: one of :func:`available_splits`.
        pretrain: for STL-10, add the unlabelled images to train (as solo-learn does).

    Raises:
        ValueError: for an unknown dataset or split, or missing files.
    """
    _known(data)
    if split not in available_splits(data):
        raise ValueError(f"dataset {data.dataset!r} has no {split!r} split; it has: "
                         f"{', '.join(available_splits(data))}")
    ds: ImageSet
    if data.dataset == "digits":
        s = data.split
        ds = TensorImages(*digits_split(int(s.seed), float(s.val_fraction),
                                        float(s.test_fraction))[split])
    elif data.dataset in TORCHVISION:
        if data.dataset == "stl10" and split == "train" and not pretrain:
            split = "labelled"
        ds = _torchvision(data, split)
    else:
        ds = decoded_images(FolderImages.scan(
            _path(data, "train_path" if split == "train" else "val_path"),
            int(data.load_size), int(data.channels)), data)
    if pretrain and float(data.fraction) > 0:
        keep = max(1, round(float(data.fraction) * len(ds)))
        ds = ds.subset(np.sort(np.random.default_rng(0).permutation(len(ds))[:keep]))
    return ds
