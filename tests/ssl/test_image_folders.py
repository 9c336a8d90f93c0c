"""CIFAR-10 as image folders (../shared/data/cifar10): the layout, the decoded-image cache,
and its errors. Small copies (links to a few hundred real files) keep each test short."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from sweeper.config import compose_config
from sweeper.ssl.data.datasets import build_dataset
from sweeper.ssl.data.image_cache import folder_key
from sweeper.ssl.data.images import FolderImages, TensorImages
from tests.services import require_cifar10

CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
           "truck")


def small_cifar10(dest: Path, per_class: dict[str, int]) -> Path:
    """``dest/<split>/<class>/`` with links to the first ``per_class[split]`` real files."""
    root = require_cifar10()
    for split, n in per_class.items():
        for name in CLASSES:
            folder = dest / split / name
            folder.mkdir(parents=True)
            for src in sorted((root / split / name).iterdir())[:n]:
                (folder / src.name).symlink_to(src)
    return dest


@pytest.fixture
def small(tmp_path: Path) -> Path:
    return small_cifar10(tmp_path / "cifar10", {"train": 12, "test": 5})


def cifar_cfg(root: Path, cache: Path, *overrides: str):  # type: ignore[no-untyped-def]
    return compose_config(["data=cifar10", f"data.train_path={root}",
                           f"data.cache.dir={cache}", *overrides])


def test_the_shared_folders_hold_cifar10s_splits() -> None:
    root = require_cifar10()
    train = FolderImages.scan(root / "train", 32)
    test = FolderImages.scan(root / "test", 32)
    assert len(train) == 50_000 and len(test) == 10_000
    assert torch.equal(train.labels.bincount(), torch.full((10,), 5000))
    assert sorted(p.name for p in (root / "train").iterdir()) == list(CLASSES)


def test_one_override_reads_train_and_test_decoded_once(small: Path, tmp_path: Path) -> None:
    cfg = cifar_cfg(small, tmp_path / "cache")
    train, test = build_dataset(cfg.data, "train"), build_dataset(cfg.data, "test")
    assert isinstance(train, TensorImages) and isinstance(test, TensorImages)
    assert train.images.shape == (120, 3, 32, 32) and train.images.dtype == torch.uint8
    assert len(test) == 50 and torch.equal(test.labels.bincount(), torch.full((10,), 5))
    # the cached pixels are the file's pixels (32 px files: no resize)
    first = sorted((small / "train" / "airplane").iterdir())[0]
    pixels = torch.from_numpy(np.array(Image.open(first).convert("RGB"))).permute(2, 0, 1)
    assert torch.equal(train.images[0], pixels) and int(train.labels[0]) == 0
    files = sorted((tmp_path / "cache" / "images").glob("*.npz"))
    assert len(files) == 2
    stamps = [f.stat().st_mtime_ns for f in files]
    again = build_dataset(cfg.data, "train", pretrain=True)  # read back, not decoded again
    assert torch.equal(again.images, train.images)
    assert [f.stat().st_mtime_ns for f in files] == stamps


def test_an_edited_folder_is_decoded_again(small: Path, tmp_path: Path) -> None:
    cfg = cifar_cfg(small, tmp_path / "cache")
    before = folder_key(FolderImages.scan(small / "test", 32))
    build_dataset(cfg.data, "test")
    victim = sorted((small / "test" / "cat").iterdir())[0]
    victim.unlink()
    Image.new("RGB", (32, 32), (255, 0, 0)).save(victim.with_suffix(".png"))
    assert folder_key(FolderImages.scan(small / "test", 32)) != before
    test = build_dataset(cfg.data, "test")
    assert len(test) == 50 and len(list((tmp_path / "cache" / "images").glob("*.npz"))) == 2
    assert bool((test.images[test.labels == 3][0][0] == 255).all())  # the new first cat


def test_the_cache_is_skipped_when_off_or_over_budget(small: Path, tmp_path: Path) -> None:
    off = cifar_cfg(small, tmp_path / "c1", "data.cache.enabled=false")
    assert isinstance(build_dataset(off.data, "test"), FolderImages)
    tiny = cifar_cfg(small, tmp_path / "c2", "data.cache.max_gb=0.0001")  # 107 kB < 154 kB
    assert isinstance(build_dataset(tiny.data, "test"), FolderImages)
    assert not (tmp_path / "c1").exists() and not (tmp_path / "c2").exists()


def test_the_cache_folder_defaults_to_the_environment(small: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RANKME_SWEEPER_CACHE", str(tmp_path / "env-cache"))
    cfg = compose_config(["data=cifar10", f"data.train_path={small}"])
    build_dataset(cfg.data, "test")
    assert len(list((tmp_path / "env-cache" / "images").glob("*.npz"))) == 1


def test_val_path_names_the_held_out_folder(small: Path, tmp_path: Path) -> None:
    cfg = cifar_cfg(small / "train", tmp_path / "cache", f"data.val_path={small / 'test'}")
    assert len(build_dataset(cfg.data, "train")) == 120
    assert len(build_dataset(cfg.data, "test")) == 50


@pytest.mark.parametrize(("overrides", "message"), [
    (["data.format=dali"], "data.format='dali' is not a format of 'cifar10'"),
    ([], "class folders under"),
])
def test_bad_layouts_name_what_is_expected(tmp_path: Path, overrides: list[str],
                                           message: str) -> None:
    (tmp_path / "empty").mkdir()
    cfg = cifar_cfg(tmp_path / "empty", tmp_path / "cache", *overrides)
    with pytest.raises(ValueError, match=message):
        build_dataset(cfg.data, "train")


def test_a_damaged_cache_file_is_an_error_naming_it(small: Path, tmp_path: Path) -> None:
    cfg = cifar_cfg(small, tmp_path / "cache")
    build_dataset(cfg.data, "test")
    (cache_file,) = (tmp_path / "cache" / "images").glob("*.npz")
    np.savez(cache_file, images=np.zeros((3, 3, 32, 32), np.uint8), labels=np.zeros(3))
    os.utime(cache_file)
    with pytest.raises(ValueError, match="delete it and run again"):
        build_dataset(cfg.data, "test")
