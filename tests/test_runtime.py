"""The process set-up policy: thread counts and the worker index, from the environment."""

from __future__ import annotations

import os

import pytest
import torch

from sweeper import runtime


def test_the_cpu_budget_is_omp_then_slurm_then_none() -> None:
    assert runtime.cpu_budget({"OMP_NUM_THREADS": "3", "SLURM_CPUS_PER_TASK": "8"}) == 3
    assert runtime.cpu_budget({"SLURM_CPUS_PER_TASK": "8"}) == 8
    assert runtime.cpu_budget({}) is None
    assert runtime.cpu_budget({"OMP_NUM_THREADS": "zero", "SLURM_CPUS_PER_TASK": "0"}) is None


def test_local_workers_split_the_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: 16)
    assert [runtime.cores_per_worker(w) for w in (1, 2, 3, 16, 40)] == [16, 8, 5, 1, 1]
    assert runtime.thread_env(4) == {"OMP_NUM_THREADS": "4", "MKL_NUM_THREADS": "4"}


def test_a_slurm_process_gets_one_thread_per_allocated_cpu(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv("MKL_NUM_THREADS", raising=False)
    monkeypatch.setenv("SLURM_CPUS_PER_TASK", "3")
    runtime.setup_process()
    assert os.environ["OMP_NUM_THREADS"] == os.environ["MKL_NUM_THREADS"] == "3"
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # an explicit setting wins
    runtime.setup_process()
    assert os.environ["OMP_NUM_THREADS"] == "1"


def test_torch_threads_follow_the_config_then_the_budget(
        monkeypatch: pytest.MonkeyPatch) -> None:
    saved = torch.get_num_threads()
    try:
        monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
        monkeypatch.delenv("SLURM_CPUS_PER_TASK", raising=False)
        runtime.set_torch_threads(None)
        assert torch.get_num_threads() == saved  # nothing said: torch's default stays
        runtime.set_torch_threads(1)
        assert torch.get_num_threads() == 1
        monkeypatch.setenv("SLURM_CPUS_PER_TASK", "2")
        runtime.set_torch_threads(None)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(saved)


def test_small_problems_run_on_one_thread_and_restore() -> None:
    saved = torch.get_num_threads()
    with runtime.threads_for(100, torch.device("cpu")):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == saved
    with runtime.threads_for(runtime.SMALL_PROBLEM_VALUES, torch.device("cpu")):
        assert torch.get_num_threads() == saved


def test_the_worker_index_is_slurms_then_the_launchers() -> None:
    assert runtime.worker_index({"SLURM_ARRAY_TASK_ID": "4", runtime.WORKER_INDEX_ENV: "1"}) == 4
    assert runtime.worker_index({runtime.WORKER_INDEX_ENV: "1"}) == 1
    assert runtime.worker_index({}) == 0
