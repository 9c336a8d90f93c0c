"""A rejected command creates nothing: every rejection path of ``train``, ``sweep``,
``score`` and ``compare`` ends with one ``error:`` line and exit code 2, and leaves the
current folder as it was (no ``outputs/<date>/<time>/``, no ``.hydra/``, no logs)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sweeper.cli import main

SUFFIXES = ".jpg, .jpeg, .png, .bmp, .webp, .tif, .tiff, .ppm"


def data_folders(root: Path) -> Path:
    """The bad and small folders the cases below name, outside the current folder."""
    (root / "empty").mkdir(parents=True)
    for name in ("a", "b"):
        (root / "no_images" / name).mkdir(parents=True)
        (root / "cifar_no_images" / "train" / name).mkdir(parents=True)
        (root / "cifar_no_images" / "test" / name).mkdir(parents=True)
    (root / "no_images" / "a" / "notes.txt").write_text("not an image\n")
    (root / "flat_text").mkdir()
    (root / "flat_text" / "readme.md").write_text("no images here\n")
    (root / "four" / "a").mkdir(parents=True)
    for i in range(4):
        Image.fromarray(np.full((8, 8, 3), 40 * i, np.uint8)).save(root / "four" / "a" / f"{i}.png")
    np.save(root / "nan.npy", np.array([[1.0, 2.0], [np.nan, 1.0], [0.5, 0.5]], np.float32))
    return root


# (arguments with {d} for the data folder, what the one error line says)
CASES = {
    "train: missing folder": (
        ["train", "data=custom", "data.train_path={d}/missing"],
        "image folder '{d}/missing' does not exist"),
    "train: empty folder": (
        ["train", "data=custom", "data.train_path={d}/empty"],
        "image folder '{d}/empty' is empty: expected class folders of images, or images"),
    "train: class folders without images": (
        ["train", "data=custom", "data.train_path={d}/no_images"],
        f"image folder '{{d}}/no_images' has 2 class folders but no images in them ({SUFFIXES})"),
    "train: a flat folder without images": (
        ["train", "data=custom", "data.train_path={d}/flat_text"],
        f"no images ({SUFFIXES}) under '{{d}}/flat_text'"),
    "train: no data path": (
        ["train", "data=custom"], "data.train_path is not set: dataset 'custom' reads local "
                                  "files"),
    "train: cifar10, missing folder": (
        ["train", "data=cifar10", "data.train_path={d}/missing"],
        "data.train_path folder '{d}/missing' does not exist: expected"),
    "train: cifar10, empty folder": (
        ["train", "data=cifar10", "data.train_path={d}/empty"],
        "data.train_path folder '{d}/empty' is empty: expected"),
    "train: cifar10, class folders without images": (
        ["train", "data=cifar10", "data.train_path={d}/cifar_no_images"],
        "image folder '{d}/cifar_no_images/train' has 2 class folders but no images"),
    "train: fewer images than a batch": (  # found after the run dir exists: removed again
        ["train", "data=custom", "data.train_path={d}/four", "data.load_size=8"],
        "the training set has 4 images, fewer than one batch of 256"),
    "train: a bad value": (["train", "max_epochs=0"], "max_epochs must be >= 1, got 0"),
    "train: unknown method": (["train", "method=simclrr"], "unknown method 'simclrr'"),
    "train: unknown key": (["train", "max_epoch=2"], "unknown config key 'max_epoch'"),
    "sweep: bad n_trials": (["sweep", "sweep.n_trials=0"],
                            "sweep.n_trials must be an integer >= 1, got 0"),
    "sweep: bad storage": (["sweep", "sweep.storage=foo://x"],
                           "sweep.storage 'foo://x': unsupported scheme 'foo'"),
    "sweep: missing data folder": (
        ["sweep", "data=custom", "data.train_path={d}/missing"],
        "the training config fails before any trial: image folder '{d}/missing' does not "
        "exist"),
    "compare: no study": (["compare", "sweep.study_name=nothere"],
                          "no study database at outputs/sweeps/nothere/study.db"),
    "compare: unknown metric": (["compare", "compare.metrics=[bogus]"],
                                "compare.metrics: unknown ['bogus']"),
    "score: missing file": (["score", "{d}/missing.npy"],
                            "no such file or folder: {d}/missing.npy"),
    "score: unknown file type": (["score", "{d}/flat_text/readme.md"],
                                 "unknown embedding file type '.md'"),
    "score: NaN rows": (["score", "{d}/nan.npy"], "NaN"),
    "score: missing checkpoint": (["score", "{d}/missing.ckpt", "data=digits"],
                                  "checkpoint '{d}/missing.ckpt' does not exist"),
    "score: missing checkpoint, features asked for": (
        ["score", "{d}/missing.ckpt", "data=digits", "--save-features", "features"],
        "checkpoint '{d}/missing.ckpt' does not exist"),
}


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return data_folders(tmp_path_factory.mktemp("data"))


@pytest.mark.parametrize("case", list(CASES))
def test_a_rejected_command_creates_nothing(
        case: str, data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    args, message = CASES[case]
    monkeypatch.setenv("RANKME_SWEEPER_CACHE", str(tmp_path / "cache"))  # outside the cwd
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    assert main([a.format(d=data) for a in args]) == 2
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in err, err
    assert message.format(d=data) in errors[0]
    assert err.strip().splitlines()[-1] == errors[0]
    assert sorted(p.relative_to(cwd) for p in cwd.rglob("*")) == []  # nothing created
    assert not list((tmp_path / "cache").rglob("*.lock"))
