"""DeepClusterV2 against numbers from solo-learn's own code (commit 9187ea3,
``solo_learn/losses_deepclusterv2.json``), the sample ids the loader hands over, and
k-means taking over the prototypes at the second epoch of a real training run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch

from sweeper.ssl.data import TensorImages
from sweeper.ssl.loader import EpochBatchSampler, make_loader
from sweeper.ssl.methods import build_method
from sweeper.ssl.methods.deepclusterv2 import DeepClusterV2, deepclusterv2_loss
from sweeper.ssl.methods.kmeans import cluster_memory

FIXTURES: dict[str, Any] = json.loads(
    (Path(__file__).parent / "solo_learn" / "losses_deepclusterv2.json").read_text())


@pytest.mark.parametrize("case", FIXTURES["deepclusterv2_loss"])
def test_loss_matches_solo_learns(case: dict[str, Any]) -> None:
    loss = deepclusterv2_loss(list(torch.tensor(case["preds"], dtype=torch.float64)),
                              torch.tensor(case["assignments"]), case["temperature"])
    assert float(loss) == pytest.approx(case["loss"], rel=1e-5)


@pytest.mark.parametrize("case", FIXTURES["kmeans"])
def test_kmeans_assigns_and_centres_as_solo_learns(case: dict[str, Any]) -> None:
    torch.manual_seed(case["torch_seed"])
    assignments, centroids = cluster_memory(
        torch.tensor(case["sample_ids"]), torch.tensor(case["banks"]), case["dataset_size"],
        case["num_prototypes"], case["iters"])
    assert assignments.tolist() == case["assignments"]
    for mine, theirs in zip(centroids, case["centroids"], strict=True):
        torch.testing.assert_close(mine, torch.tensor(theirs), rtol=1e-5, atol=1e-6)


def test_the_loader_appends_sample_ids_only_when_asked() -> None:
    ds = TensorImages(torch.arange(10.0).view(10, 1, 1, 1).expand(10, 3, 2, 2).clone(),
                      torch.arange(10))
    sampler = EpochBatchSampler(10, 4, seed=3)
    with_ids = list(make_loader(ds, sampler, sample_ids=True))
    assert all(len(b) == 3 and b[2].tolist() == b[1].tolist() for b in with_ids)
    assert all(len(b) == 2 for b in make_loader(ds, sampler))


def _tiny(k: list[int]) -> DeepClusterV2:
    backbone = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 8))
    return build_method("deepclusterv2", backbone, 8, {
        "proj_hidden_dim": 16, "proj_output_dim": 4, "num_prototypes": k,
        "temperature": 0.1, "kmeans_iters": 3})  # type: ignore[return-value]


def test_epoch_zero_has_zero_gradient_and_epoch_one_clusters_the_bank() -> None:
    torch.manual_seed(0)
    method, x = _tiny([3, 5]), torch.randn(12, 3, 2, 2)
    method.start_epoch(0, dataset_size=20, memory_size=12)
    ids = torch.randperm(20)[:12]
    loss = method.loss([x, x + 0.1], 0, sample_ids=ids)
    loss.backward()
    assert float(loss) == 0 and all(
        p.grad is None or not p.grad.any() for p in method.parameters())
    assert sorted(method.memory_ids.tolist()) == sorted(ids.tolist())
    method.start_epoch(1, dataset_size=20, memory_size=12)
    assert method.assignments is not None
    assigned = (method.assignments >= 0).nonzero()[:, 1].unique()
    assert sorted(assigned.tolist()) == sorted(ids.tolist())
    for proto in method._layers():  # the centroids: unit rows, frozen
        assert torch.allclose(proto.weight.norm(dim=1), torch.ones(1))
        assert not proto.weight.requires_grad
    loss = method.loss([x, x + 0.1], 1, sample_ids=ids)
    assert float(loss) > 0 and loss.requires_grad


def test_bad_settings_are_named() -> None:
    with pytest.raises(ValueError, match="num_prototypes"):
        _tiny([])
    method = _tiny([30])
    method.start_epoch(0, dataset_size=20, memory_size=12)
    method.loss([torch.randn(12, 3, 2, 2)] * 2, 0, sample_ids=torch.arange(12))
    with pytest.raises(ValueError, match="30 prototypes needs at least 30"):
        method.start_epoch(1, dataset_size=20, memory_size=12)
    with pytest.raises(ValueError, match="sample ids"):
        _tiny([3]).loss([torch.randn(4, 3, 2, 2)] * 2, 0)
