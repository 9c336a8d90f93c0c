"""Device blocks for local workers."""

from __future__ import annotations

from sweeper.study.launch_local import assign_devices


def test_workers_get_disjoint_gpu_blocks():
    assert assign_devices(2, ["0", "1", "2", "3"]) == ["0,1", "2,3"]
    assert assign_devices(4, ["0", "1", "2", "3"]) == ["0", "1", "2", "3"]
    assert assign_devices(3, ["4", "5", "6", "7"]) == ["4", "5", "6"]  # 1 each, one left idle
    blocks = assign_devices(2, [str(i) for i in range(8)])
    assert set(blocks[0].split(",")).isdisjoint(blocks[1].split(","))


def test_more_workers_than_gpus_share_round_robin_and_cpu_gets_none():
    assert assign_devices(3, ["0", "1"]) == ["0", "1", "0"]
    assert assign_devices(2, []) == [None, None]

