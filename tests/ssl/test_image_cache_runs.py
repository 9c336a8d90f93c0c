"""Image folders through whole runs: a run that builds the decoded-image cache trains exactly
as one that reads it, an unreadable image is one error line naming it, and the cache keeps no
lock files. Small real PNG/JPEG files made here keep each run to a few seconds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from sweeper.cli import main
from sweeper.config import compose_config
from sweeper.ssl import train
from tests.ssl.conftest import SMALL


def image_folder(root: Path, per_class: int = 16, suffix: str = ".png") -> Path:
    """``root/{a,b}/<i><suffix>``: real 20 x 24 RGB files of seeded random pixels."""
    rng = np.random.default_rng(0)
    for name in ("a", "b"):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            pixels = rng.integers(0, 256, (20, 24, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / name / f"{i:02d}{suffix}")
    return root


def folder_overrides(root: Path, cache: Path) -> list[str]:
    return [*SMALL, "data=custom", f"data.train_path={root}", f"data.cache.dir={cache}",
            "data.load_size=16", "augmentations.0.crop_size=16", "data.num_workers=0",
            "backbone=small_cnn", "max_epochs=1", "optimizer.batch_size=8",
            "monitor.bank_size=32", "monitor.objective_bank_size=32", "monitor.batch_size=32"]


def weights(run_dir: Path) -> dict[str, torch.Tensor]:
    ckpt = torch.load(run_dir / "checkpoints" / "last.ckpt", map_location="cpu",
                      weights_only=False)
    return dict(ckpt["state_dict"])


def test_a_run_that_builds_the_cache_trains_as_one_that_reads_it(tmp_path: Path) -> None:
    root, cache = image_folder(tmp_path / "images", per_class=8), tmp_path / "cache"
    cfg = compose_config(folder_overrides(root, cache))
    cold = train(cfg, tmp_path / "cold")  # decodes the folder into the cache
    (cached,) = (cache / "images").glob("*.npz")
    stamp = cached.stat().st_mtime_ns
    warm = train(cfg, tmp_path / "warm")  # reads it
    assert cached.stat().st_mtime_ns == stamp  # not decoded again
    assert not list((cache / "images").glob("*.lock"))  # no lock file stays
    a, b = weights(tmp_path / "cold"), weights(tmp_path / "warm")
    assert a.keys() == b.keys() and len(a) > 10
    unequal = [k for k in a if not torch.equal(a[k], b[k])]
    assert not unequal, f"{len(unequal)} tensors differ, e.g. {unequal[:3]}"
    assert cold["rankme"] == warm["rankme"]


def write_corrupt(path: Path, kind: str) -> None:
    if kind == "not an image":
        path.write_bytes(b"this is not a JPEG\n" * 8)
    else:  # a real JPEG cut in half: PIL reads its header, then fails to decode it
        Image.fromarray(np.full((40, 40, 3), 200, np.uint8)).save(path, quality=95)
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])


@pytest.mark.parametrize(("kind", "cache"), [
    ("not an image", "true"),  # found while decoding into the cache
    ("truncated", "true"),
    ("not an image", "false"),  # found by the training loader's workers
])
def test_an_unreadable_image_is_one_line_naming_it(
        tmp_path: Path, kind: str, cache: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    root = image_folder(tmp_path / "images", per_class=8, suffix=".jpg")
    bad = root / "b" / "03.jpg"
    write_corrupt(bad, kind)
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    overrides = folder_overrides(root, tmp_path / "cache")
    assert main(["train", *overrides, f"data.cache.enabled={cache}",
                 "data.num_workers=2"]) == 2  # the error crosses a loader worker
    err = capsys.readouterr().err
    last = err.strip().splitlines()[-1]
    assert last.startswith(f"error: cannot read image {str(bad)!r}"), err
    assert "Traceback" not in err and "UnidentifiedImageError" not in err
    assert not list(cwd.iterdir())  # no run folder
    assert not list((tmp_path / "cache").rglob("*.lock"))
    assert not list((tmp_path / "cache").rglob("*.npz"))
