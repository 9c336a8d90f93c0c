"""Every preset in conf/experiment composes as ``experiment=<name>`` and passes the sweep checks."""

from __future__ import annotations

import pytest

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
                                  "cifar10_cpu_vicreg", "cifar10_cpu_simclr"])
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
