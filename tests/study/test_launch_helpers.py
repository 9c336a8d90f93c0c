"""Device blocks for local workers; ranks per trial and trials per GPU."""

from __future__ import annotations

import re

import pytest

from sweeper.config import compose_config
from sweeper.study.launch_local import assign_devices
from sweeper.study.launch_shape import LaunchShape, launch_shape
from sweeper.study.settings import read_launcher, split_config


def test_workers_get_disjoint_gpu_blocks():
    assert assign_devices(2, ["0", "1", "2", "3"]) == ["0,1", "2,3"]
    assert assign_devices(4, ["0", "1", "2", "3"]) == ["0", "1", "2", "3"]
    assert assign_devices(3, ["4", "5", "6", "7"]) == ["4", "5", "6"]  # 1 each, one left idle
    blocks = assign_devices(2, [str(i) for i in range(8)])
    assert set(blocks[0].split(",")).isdisjoint(blocks[1].split(","))


def test_more_workers_than_gpus_share_round_robin_and_cpu_gets_none():
    assert assign_devices(3, ["0", "1"]) == ["0", "1", "0"]
    assert assign_devices(2, []) == [None, None]



def test_multi_device_trials_get_whole_blocks_and_shared_gpus_the_same_block():
    assert assign_devices(2, ["0", "1", "2", "3"], world=2) == ["0,1", "2,3"]
    assert assign_devices(4, ["0", "1"], trials_per_gpu=2) == ["0", "0", "1", "1"]
    with pytest.raises(ValueError, match="need 4 GPUs; 3 are visible"):
        assign_devices(2, ["0", "1", "2"], world=2)


def _shape(launcher: str, *overrides: str):
    cfg = compose_config([f"launcher={launcher}", *overrides], config_name="sweep")
    return launch_shape(split_config(cfg)[0], read_launcher(cfg.launcher))


def test_the_launch_shape_follows_devices_and_trials_per_gpu():
    ddp = ("accelerator=cpu", "devices=2", "strategy=ddp")
    assert _shape("slurm", *ddp) == LaunchShape(2, 1, 2, 0)  # 2 tasks, no GPU on the CPU
    assert _shape("slurm", "accelerator=gpu", "devices=[0,1,2,3]", "strategy=ddp",
                  "launcher.gpus_per_node=4") == LaunchShape(4, 1, 4, 4)
    assert _shape("slurm", "accelerator=gpu", "launcher.trials_per_gpu=3",
                  "launcher.gpus_per_node=1") == LaunchShape(1, 3, 3, 1)
    assert _shape("local", *ddp) == LaunchShape(2, 1, 1, 0)
    # the paper's ImageNet presets: 8 ranks per trial, 8 tasks and 8 GPUs per job
    assert _shape("slurm", "experiment=paper_vicreg") == LaunchShape(8, 1, 8, 8)


@pytest.mark.parametrize(("launcher", "overrides", "message"), [
    ("local", ["accelerator=gpu", "devices=2", "strategy=ddp", "launcher.trials_per_gpu=2"],
     "launcher.trials_per_gpu=2 with devices=2: trials share a GPU only when each trains on "
     "one device"),
    ("local", ["accelerator=cpu", "launcher.trials_per_gpu=2"],
     "launcher.trials_per_gpu=2 with accelerator=cpu: there is no GPU to share"),
    ("slurm", ["accelerator=gpu", "devices=8", "strategy=ddp", "launcher.gpus_per_node=1"],
     "launcher.gpus_per_node=1 with devices=8: a 8-device trial's job asks for one GPU per "
     "rank; set launcher.gpus_per_node=8"),
    ("slurm", ["accelerator=gpu", "launcher.trials_per_gpu=2", "launcher.gpus_per_node=2"],
     "each job runs 2 worker tasks on one GPU; set launcher.gpus_per_node=1"),
    ("local", ["launcher.trials_per_gpu=0"], "launcher.trials_per_gpu must be an integer >= 1"),
])
def test_launch_shapes_that_cannot_run_are_refused_by_name(launcher, overrides, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        _shape(launcher, *overrides)
