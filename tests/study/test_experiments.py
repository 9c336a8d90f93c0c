"""Every preset in conf/experiment composes as ``experiment=<name>`` and passes the sweep checks."""

from __future__ import annotations

import pytest
from PIL import Image

from sweeper.config import CONF_DIR, compose_config
from sweeper.study.plan import make_plan

EXPERIMENTS = sorted(p.stem for p in (CONF_DIR / "experiment").glob("*.yaml"))


def test_the_paper_reproductions_are_all_there() -> None:
    for method in ("vicreg", "simclr", "dino"):
        for suffix in ("", "_cifar10", "_cifar100"):
            assert f"paper_{method}{suffix}" in EXPERIMENTS
    assert "paper_digits" in EXPERIMENTS


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_experiment_composes_and_its_sweep_is_valid(name: str) -> None:
    cfg = compose_config([f"experiment={name}"], config_name="sweep")
    plan = make_plan(cfg, check_trials=False)  # their data lives on a cluster
    assert plan.settings.n_trials >= 2
    assert plan.space


@pytest.mark.parametrize("name", ["paper_vicreg_cifar10", "paper_simclr_cifar10",
                                  "cifar10_cpu_vicreg", "cifar10_cpu_simclr",
                                  "cifar10_cpu_v2_vicreg", "cifar10_cpu_v2_simclr",
                                  "cifar10_cpu_v2_dino"])
def test_cifar10_presets_pass_the_checks_before_the_study_on_real_data(name: str) -> None:
    from tests.services import require_cifar10

    root = require_cifar10()
    cfg = compose_config([f"experiment={name}", f"data.train_path={root}"],
                         config_name="sweep")
    assert make_plan(cfg).space  # training config at every param end, data, ResNet-18


@pytest.mark.parametrize("method", ["vicreg", "simclr", "dino"])
def test_imagenet_reproductions_follow_the_paper_setup(method: str) -> None:
    cfg = compose_config([f"experiment=paper_{method}"], config_name="sweep")
    assert cfg.backbone.name == "resnet50"
    assert cfg.max_epochs == 100
    assert cfg.optimizer.name == "lars"
    assert cfg.data.dataset == "imagenet"


def test_an_imagenet_reproduction_passes_the_checks_before_the_study(tmp_path) -> None:
    # Its 8-device DDP trials are no longer refused: with its data there (a fake ImageNet of
    # four tiny images here), the checks of every param end pass. SimCLR's is the cheapest
    # of the three (its ResNet-50 builds once; VICReg's and DINO's take 47 s and 68 s here).
    for split in ("train", "val"):
        for label in ("n01440764", "n01443537"):
            (tmp_path / split / label).mkdir(parents=True)
            for i in range(2):
                Image.new("RGB", (32, 32), (60 * i, 0, 0)).save(
                    tmp_path / split / label / f"{i}.JPEG")
    cfg = compose_config(["experiment=paper_simclr", f"data.train_path={tmp_path / 'train'}",
                          f"data.val_path={tmp_path / 'val'}"], config_name="sweep")
    plan = make_plan(cfg)
    assert plan.train_cfg.devices == 8 and plan.train_cfg.strategy == "ddp"


@pytest.mark.parametrize(("method", "axes"), [
    ("vicreg", {"method_kwargs.cov_loss_weight", "method_kwargs.sim_loss_weight", "optimizer.lr",
                "optimizer.weight_decay"}),
    ("simclr", {"method_kwargs.temperature", "optimizer.lr", "optimizer.weight_decay"}),
    ("dino", {"method_kwargs.teacher_temperature", "method_kwargs.student_temperature"}),
])
def test_cifar10_v2_runs_every_point_of_its_axes_with_three_seeds_and_the_peers(
        method: str, axes: set[str]) -> None:
    cfg = compose_config([f"experiment=cifar10_cpu_v2_{method}"], config_name="sweep")
    plan = make_plan(cfg, check_trials=False)
    s = plan.settings
    assert set(plan.space) == axes and cfg.method == method
    assert cfg.monitor.lidar.enabled and cfg.monitor.idest.enabled
    assert s.seeds == 3 and s.n_trials == 3 * len(s.enqueue) and s.pruner["name"] == "none"
    centre, *others = s.enqueue
    # one axis at a time: each point moves one param off the centre, to each of its values
    moved = sorted((k, e[k]) for e in others for k in axes if e[k] != centre[k])
    assert len(moved) == len(others)
    assert moved == sorted((k, v) for k in axes for v in plan.space[k].grid or ()
                           if v != centre[k])
