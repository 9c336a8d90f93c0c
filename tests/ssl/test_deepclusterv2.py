"""DeepClusterV2 against numbers from solo-learn's own code (commit 9187ea3,
``solo_learn/losses_deepclusterv2.json``), the sample ids the loader hands over, k-means
taking over the prototypes at the second epoch, and the memory bank in the state dict: a
run resumed from its checkpoint clusters and trains as the uninterrupted run (one process
and two gloo processes), an older checkpoint without the bank still loads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch

from sweeper.ssl.data.images import TensorImages
from sweeper.ssl.data.loader import EpochBatchSampler, make_loader
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


def test_the_state_dict_holds_the_bank_and_a_bankless_one_still_loads() -> None:
    torch.manual_seed(0)
    method, x = _tiny([3, 5]), torch.randn(12, 3, 2, 2)
    method.start_epoch(0, dataset_size=20, memory_size=12)
    method.loss([x, x + 0.1], 0, sample_ids=torch.randperm(20)[:12])
    state = method.state_dict()
    assert torch.equal(state["memory_ids"], method.memory_ids)
    assert torch.equal(state["memory"], method.memory)
    restored = _tiny([3, 5])
    restored.load_state_dict(state)  # strict: the bank's keys are expected
    for m in (method, restored):
        torch.manual_seed(1)  # k-means' initial centroids: random bank rows
        m.start_epoch(1, dataset_size=20, memory_size=12)
    assert method.assignments is not None and restored.assignments is not None
    assert torch.equal(restored.assignments, method.assignments)
    old = _tiny([3, 5])  # a checkpoint written before the bank was saved
    old.load_state_dict({k: v for k, v in state.items() if not k.startswith("memory")})
    with pytest.warns(UserWarning, match="epoch 2 trains without clustering"):
        old.start_epoch(1, dataset_size=20, memory_size=12)
    assert old.assignments is not None and bool((old.assignments < 0).all())
    with pytest.raises(RuntimeError, match="no memory bank of 4-d projections"):
        _tiny([3, 5]).load_state_dict({**state, "memory": torch.zeros(2, 12, 3)})


def _resumed_run(tmp_path: Path, drop_bank: bool = False) -> dict[str, Any]:
    """2 epochs on digits, interrupted after the second trained, resumed from epoch 1's
    checkpoint (without its bank when ``drop_bank``); the final checkpoint's state."""
    from sweeper.ssl import train
    from sweeper.ssl.checkpoints import load_checkpoint
    from tests.ssl.conftest import digits_cfg

    def cfg() -> Any:
        return digits_cfg("method=deepclusterv2", "method_kwargs.num_prototypes=[10,10,7]",
                          "max_epochs=2", "limit_train_batches=2", "num_threads=1",
                          "monitor.bank_size=64", "auto_resume.enabled=true")

    def interrupt(epoch: int, metrics: dict[str, float]) -> None:
        if epoch == 2:
            raise RuntimeError("node lost")

    threads = torch.get_num_threads()
    try:
        if not drop_bank:
            train(cfg(), tmp_path / "whole")
        with pytest.raises(RuntimeError, match="node lost"):
            train(cfg(), tmp_path / "resumed", on_monitor=interrupt)
        last = tmp_path / "resumed" / "checkpoints" / "last.ckpt"
        first = load_checkpoint(last)
        assert first["epoch"] == 0 and first["state_dict"]["method.memory"].shape == (2, 512, 64)
        if drop_bank:
            first["state_dict"] = {k: v for k, v in first["state_dict"].items()
                                   if not k.startswith("method.memory")}
            torch.save(first, last)
        train(cfg(), tmp_path / "resumed")
    finally:
        torch.set_num_threads(threads)  # train() sets one thread for the process
    return {run: load_checkpoint(tmp_path / run / "checkpoints" / "last.ckpt")
            for run in ("whole", "resumed") if (tmp_path / run).is_dir()} | {"first": first}


def _epoch_losses(run_dir: Path) -> list[float]:
    import csv

    rows = csv.DictReader((run_dir / "logs" / "metrics.csv").open())
    return [float(r["train_loss_epoch"]) for r in rows if r.get("train_loss_epoch")]


def test_a_resumed_run_clusters_its_first_epoch_as_an_uninterrupted_run(tmp_path: Path
                                                                         ) -> None:
    from tests.ssl.test_resume_exact import _assert_same_state

    runs = _resumed_run(tmp_path)
    _assert_same_state(runs["whole"], runs["resumed"])  # the bank and centroids included
    prototypes = "method.prototypes.0.weight"
    assert not torch.equal(runs["resumed"]["state_dict"][prototypes],
                           runs["first"]["state_dict"][prototypes])  # k-means ran at epoch 2
    whole, resumed = _epoch_losses(tmp_path / "whole"), _epoch_losses(tmp_path / "resumed")
    assert whole[0] == 0 and whole[1] > 0  # epoch 1 unclustered, epoch 2 clustered
    assert resumed[-1] == whole[1]


def test_a_checkpoint_without_the_bank_resumes_with_an_unclustered_epoch(tmp_path: Path
                                                                          ) -> None:
    with pytest.warns(UserWarning, match="epoch 2 trains without clustering"):
        runs = _resumed_run(tmp_path, drop_bank=True)
    prototypes = "method.prototypes.0.weight"
    assert torch.equal(runs["resumed"]["state_dict"][prototypes],
                       runs["first"]["state_dict"][prototypes])
    assert _epoch_losses(tmp_path / "resumed")[-1] == 0


def _ddp_rank(rank: int, port: int, out: Path) -> None:
    import os

    import torch.distributed as dist

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=2)
    try:
        torch.manual_seed(0)
        method = _tiny([3])
        method.start_epoch(0, dataset_size=40, memory_size=6)
        ids = torch.arange(6) + 20 * rank  # each rank's own samples
        method.loss([torch.randn(6, 3, 2, 2)] * 2, 0, sample_ids=ids)
        state = method.state_dict()  # a collective: the rows of both ranks
        restored = _tiny([3])
        restored.load_state_dict(state)
        torch.save({"state": state, "own": (method.memory_ids, method.memory),
                    "restored": (restored.memory_ids, restored.memory)},
                   out / f"rank{rank}.pt")
    finally:
        dist.destroy_process_group()


def test_under_ddp_the_state_holds_every_ranks_bank_and_each_rank_gets_its_own(
        tmp_path: Path) -> None:
    import socket

    import torch.multiprocessing as mp

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    # fork, not spawn: the children need no fresh import of torch (2 s, not 20)
    mp.start_processes(_ddp_rank, args=(port, tmp_path), nprocs=2, start_method="fork")
    ranks = [torch.load(tmp_path / f"rank{r}.pt") for r in range(2)]
    state = ranks[0]["state"]
    assert state["memory_ids"].tolist() == [*range(6), *range(20, 26)]
    assert torch.equal(state["memory"], torch.cat([r["own"][1] for r in ranks], dim=1))
    for r in ranks:
        assert torch.equal(r["restored"][0], r["own"][0])
        assert torch.equal(r["restored"][1], r["own"][1])
    single = _tiny([3])  # one process reads both ranks' rows
    single.load_state_dict(state)
    assert single.memory.shape == (2, 12, 4)
