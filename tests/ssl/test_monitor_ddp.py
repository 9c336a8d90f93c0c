"""The monitor under DDP: 2 CPU processes (gloo) measure a bank once, each embedding its own
batches, and get the values one process gets on the same bank."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from sweeper.config import ConfigError
from sweeper.metrics.distributed import first_failure, from_rank_zero
from sweeper.ssl import train
from sweeper.ssl.build import bank_loader, build_parts
from sweeper.ssl.checkpoints import load_checkpoint
from sweeper.ssl.module import SSLModule
from sweeper.ssl.monitor import RankMeMonitor
from tests.cli import run_cli
from tests.ssl.conftest import SMALL, digits_cfg

WORLD = 2
# Banks of 64-image batches: 5 batches (3 + 2, the last one short), both embeddings kept as
# K x K moments; 100 images: 128-d features as rows (N <= K), projections as moments;
# 50 images: one batch, so rank 1 embeds nothing.
SIZES = (300, 100, 50)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _model(state: Path | None = None) -> tuple[Any, SSLModule]:
    parts = build_parts(digits_cfg())
    if state is not None:
        parts.method.load_state_dict(torch.load(state))
    return parts, SSLModule(parts.cfg, parts.method, parts.views, parts.train_set)


def _rank(rank: int, port: int, state: Path, out: Path) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=WORLD)
    try:
        parts, module = _model(state)
        embedded: list[int] = []  # rows through the backbone on this rank
        parts.method.backbone.register_forward_hook(
            lambda _m, inputs, _out: embedded.append(inputs[0].shape[0]))
        result: dict[str, Any] = {}
        for size in SIZES:
            bank = bank_loader(parts.train_set, size, seed=1, batch_size=64)
            monitor = RankMeMonitor(bank, parts.eval_view, every_n_epochs=1, enabled=True)
            embedded.clear()
            result[f"metrics_{size}"] = monitor.measure(module)
            result[f"embedded_{size}"] = sum(embedded)
            result[f"shard_{size}"] = [x for x, _ in monitor._shard(bank, rank, WORLD)]
        calls: list[int] = []

        def on_monitor() -> str:
            calls.append(rank)
            return "pruned"

        result["status"] = from_rank_zero(on_monitor)
        result["calls"] = calls
        result["failure"] = first_failure("boom" if rank == 1 else "", WORLD)
        torch.save(result, out / f"rank{rank}.pt")
    finally:
        dist.destroy_process_group()


def test_two_processes_measure_what_one_process_measures(tmp_path: Path) -> None:
    parts, module = _model()
    torch.save(parts.method.state_dict(), tmp_path / "state.pt")
    mp.spawn(_rank, args=(_free_port(), tmp_path / "state.pt", tmp_path), nprocs=WORLD)
    ranks = [torch.load(tmp_path / f"rank{r}.pt") for r in range(WORLD)]
    for size in SIZES:
        bank = bank_loader(parts.train_set, size, seed=1, batch_size=64)
        single = RankMeMonitor(bank, parts.eval_view, every_n_epochs=1,
                               enabled=True).measure(module)
        # every rank holds rank 0's values, bit for bit
        assert ranks[0][f"metrics_{size}"] == ranks[1][f"metrics_{size}"]
        ddp = ranks[0][f"metrics_{size}"]
        assert ddp.keys() == single.keys()
        assert ddp["bank_size"] == single["bank_size"] == size
        for key, value in single.items():
            assert ddp[key] == pytest.approx(value, rel=1e-9), key
        # each batch of the bank embedded by exactly one rank: 0, 2, 4 and 1, 3
        batches = [x for x, _ in bank]
        shards = [ranks[r][f"shard_{size}"] for r in range(WORLD)]
        assert sum(len(s) for s in shards) == len(batches)
        assert [ranks[r][f"embedded_{size}"] for r in range(WORLD)] == [
            sum(len(b) for b in shard) for shard in shards]
        for i, batch in enumerate(batches):
            assert torch.equal(shards[i % WORLD][i // WORLD], batch)
    assert [r["status"] for r in ranks] == ["pruned", "pruned"]
    assert ranks[0]["calls"] == [0] and ranks[1]["calls"] == []  # on_monitor: rank 0 only
    assert [r["failure"] for r in ranks] == ["boom", "boom"]  # all ranks stop together


def test_a_two_process_ddp_training_records_each_epoch_once(tmp_path: Path) -> None:
    done = run_cli("train", *SMALL, "max_epochs=2", "devices=2", "strategy=ddp",
                   "accelerator=cpu", "num_threads=1", "monitor.bank_size=300",
                   "monitor.batch_size=64", "monitor.objective_bank_size=1000",
                   f"hydra.run.dir={tmp_path}")
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("completed: simclr 2 epochs") == 1  # rank 0 reports
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["status"] == "completed" and metrics["epochs"] == 2
    assert [h["epoch"] for h in metrics["history"]] == [1, 2]
    assert metrics["monitor_bank_size"] == 300 and metrics["objective_bank_size"] == 1000
    logged = (tmp_path / "logs" / "metrics.csv").read_text().splitlines()
    column = logged[0].split(",").index("monitor/rankme")
    assert sum(1 for row in logged[1:] if row.split(",")[column]) == 2
    # the objective equals one process's measurement of the trained model on the same bank
    parts, module = _model()
    state = load_checkpoint(tmp_path / "checkpoints" / "last.ckpt")["state_dict"]
    parts.method.load_state_dict({k.removeprefix("method."): v for k, v in state.items()
                                  if k.startswith("method.")})
    bank = bank_loader(parts.train_set, 1000, seed=0, batch_size=64)
    single = RankMeMonitor(bank, parts.eval_view, every_n_epochs=1, enabled=True).measure(module)
    for key in ("rankme", "rankme_projector", "nesum", "stable_rank", "alpha_req"):
        assert metrics[key] == pytest.approx(single[key], rel=1e-9), key


@pytest.mark.parametrize("strategy", ["ddp_spawn", "ddp_fork", "ddp_notebook"])
def test_strategies_that_train_in_child_processes_are_refused(tmp_path: Path,
                                                              strategy: str) -> None:
    # their ranks' monitor values would never reach the process that writes metrics.json
    with pytest.raises(ConfigError, match=f"strategy='{strategy}'.*use strategy=ddp"):
        train(digits_cfg(f"strategy={strategy}"), tmp_path)
    assert not list(tmp_path.iterdir())
