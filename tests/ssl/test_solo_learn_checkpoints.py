"""A solo-learn checkpoint scores with the features solo-learn computes.

``solo_learn/resnet18_cifar.json`` describes a ResNet-18 built by solo-learn's own code for
its CIFAR-10 SimCLR yaml (commit in the file): the state_dict's keys and shapes, the stem,
and a seeded recipe for every weight (a real checkpoint would be 45 MB). The recipe is
rebuilt here and checked against solo-learn's sums of the same tensors, saved the way
solo-learn saves checkpoints (``backbone.*`` keys, its ``args.json`` beside the file:
``simclr_args.json``), and scored; ``resnet18_cifar_features.npz`` holds the features
solo-learn's backbone gave for the first test image of each class after its CIFAR
evaluation transform.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from sweeper.config import compose_config
from sweeper.ssl.backbones import build_backbone
from sweeper.ssl.features import extract_features
from tests.ssl.test_image_folders import small_cifar10

HERE = Path(__file__).resolve().parent / "solo_learn"
META: dict[str, Any] = json.loads((HERE / "resnet18_cifar.json").read_text())


def recipe_state(shapes: dict[str, list[int]]) -> dict[str, torch.Tensor]:
    """The seeded weights of ``resnet18_cifar.json``'s ``weights`` recipe."""
    state = {}
    for i, (key, shape) in enumerate(sorted(shapes.items())):
        g = torch.Generator().manual_seed(1000 + i)
        if key.endswith("num_batches_tracked"):
            state[key] = torch.tensor(0)
        elif key.endswith("running_var"):
            state[key] = torch.rand(*shape, generator=g) + 0.5
        elif key.endswith("running_mean"):
            state[key] = torch.randn(*shape, generator=g) * 0.1
        elif len(shape) == 1:
            base = 1.0 if key.endswith("weight") else 0.0
            state[key] = base + torch.randn(*shape, generator=g) * 0.1
        else:
            state[key] = torch.randn(*shape, generator=g) * math.sqrt(2.0 / math.prod(shape[1:]))
    return state


def write_solo_checkpoint(tmp_path: Path, backbone: dict[str, torch.Tensor],
                          args: dict[str, Any]) -> Path:
    """A checkpoint laid out as solo-learn saves one: ``backbone.*`` weights, and its
    ``args`` as the ``args.json`` beside the file."""
    method = str(args["method"])
    folder = tmp_path / "trained_models" / method / "offline-abc"
    folder.mkdir(parents=True)
    ckpt = folder / f"{method}-cifar10-offline-abc-ep=999.ckpt"
    torch.save({"epoch": 999, "state_dict": {f"backbone.{k}": v for k, v in backbone.items()}},
               ckpt)
    (folder / "args.json").write_text(json.dumps(args))
    return ckpt


@pytest.fixture
def solo_checkpoint(tmp_path: Path) -> Path:
    return write_solo_checkpoint(tmp_path, recipe_state(META["state_shapes"]),
                                 json.loads((HERE / "simclr_args.json").read_text()))


def test_the_recipe_rebuilds_solo_learns_tensors() -> None:
    state = recipe_state(META["state_shapes"])
    for key, total in META["state_sums"].items():
        assert float(state[key].double().sum()) == pytest.approx(total, rel=1e-9, abs=1e-9)


def test_our_cifar_resnet18_is_solo_learns() -> None:
    net, dim = build_backbone("resnet18", 3, 32)
    assert dim == 512
    assert {k: list(v.shape) for k, v in net.state_dict().items()} == META["state_shapes"]
    conv = net.conv1
    assert isinstance(conv, torch.nn.Conv2d)
    assert (list(conv.kernel_size), list(conv.stride), list(conv.padding)) == (
        META["conv1"]["kernel_size"], META["conv1"]["stride"], META["conv1"]["padding"])
    assert type(net.maxpool).__name__ == META["maxpool"]


def test_a_solo_learn_checkpoint_gives_solo_learns_features(solo_checkpoint: Path,
                                                            tmp_path: Path) -> None:
    data = small_cifar10(tmp_path / "cifar10", {"train": 1, "test": 1})
    # nothing names the backbone: it comes from the args.json beside the checkpoint
    cfg = compose_config(["data=cifar10", f"data.train_path={data}",
                          f"data.cache.dir={tmp_path / 'cache'}", "data.num_workers=0"])
    feats, labels = extract_features(solo_checkpoint, cfg, splits=("test",))["test"]
    ref = np.load(HERE / "resnet18_cifar_features.npz")
    names = [f"{p.parent.name}/{p.name}" for p in
             sorted((data / "test").glob("*/*"), key=lambda p: (p.parent.name, p.name))]
    assert names == list(ref["files"])
    assert labels.tolist() == list(range(10))
    np.testing.assert_allclose(feats, ref["features"], rtol=1e-5,
                               atol=1e-5 * float(np.abs(ref["features"]).max()))


def test_a_solo_learn_checkpoint_on_other_data_is_refused(solo_checkpoint: Path) -> None:
    with pytest.raises(ValueError, match=r"was trained on cifar10 \(its args.json\) but the "
                                         r"data given is digits: name its data"):
        extract_features(solo_checkpoint, compose_config(["data=digits"]), splits=("train",))
