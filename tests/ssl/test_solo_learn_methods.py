"""Each of solo-learn's 19 CIFAR pretraining configs either trains one epoch on the CPU on
real CIFAR-10 images, with only data-path and hardware overrides, or stops at once with its
reason (tests/ssl/solo_learn/cifar/ holds the configs as solo-learn writes them).

Besides data and hardware, the overrides shorten the run (max_epochs=1), switch the W&B
logger off (no network here) and shrink this project's own RankMe banks.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import yaml

from sweeper.cli import main
from sweeper.ssl.methods import METHODS, REFUSED
from tests.ssl.solo_learn_cifar import CONFIGS as SOLO_CIFAR
from tests.ssl.solo_learn_cifar import config
from tests.ssl.test_image_folders import small_cifar10

pytestmark = pytest.mark.slow  # a ResNet-18 epoch per method on two CPU cores


@pytest.fixture(scope="module")
def cifar(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return small_cifar10(tmp_path_factory.mktemp("data") / "cifar10", {"train": 10})


# where a solo-learn config cannot run on these 32-image batches: W-MSE whitens sub-batches
# of whitening_size (128) rows, which must fit in the batch and exceed proj_output_dim
BATCH_FIT: dict[str, list[str]] = {
    "wmse": ["method_kwargs.whitening_size=32", "method_kwargs.proj_output_dim=16"],
}


def _run(name: str, cifar: Path, tmp_path: Path) -> tuple[int, Path]:
    folder = tmp_path / "configs"
    folder.mkdir()
    (folder / f"{name}.yaml").write_text(yaml.safe_dump(config(name), sort_keys=False))
    run_dir = tmp_path / "run"
    code = main([
        "train", "--config-path", str(folder), "--config-name", name,
        f"data.train_path={cifar}", "data.val_path=null", "data.dataset=cifar10",
        f"+data.cache.dir={tmp_path / 'cache'}", "data.num_workers=0",
        "accelerator=cpu", "devices=1", "strategy=auto", "precision=32",
        "sync_batchnorm=false", "optimizer.batch_size=32",
        "max_epochs=1", "wandb.enabled=false",
        "+monitor.bank_size=64", "+monitor.objective_bank_size=64",
        f"hydra.run.dir={run_dir}", *BATCH_FIT.get(name, []),
    ])
    return code, run_dir


def test_the_configs_cover_solo_learns_19_cifar_methods() -> None:
    methods = {c["method"] for c in SOLO_CIFAR.values()}
    assert len(methods) == 19 and methods == set(METHODS) | set(REFUSED)


@pytest.mark.parametrize("name", sorted(n for n in SOLO_CIFAR
                                        if SOLO_CIFAR[n]["method"] in METHODS))
def test_a_method_we_have_trains_one_epoch(name: str, cifar: Path, tmp_path: Path) -> None:
    code, run_dir = _run(name, cifar, tmp_path)
    assert code == 0
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["status"] == "completed" and metrics["method"] == SOLO_CIFAR[name]["method"]
    assert metrics["epochs"] == 1 and metrics["global_step"] == 100 // 32
    assert math.isfinite(metrics["rankme"]) and metrics["rankme"] > 1
    assert (run_dir / "trained_models" / "last.ckpt").is_file()


@pytest.mark.parametrize("name", sorted(n for n in SOLO_CIFAR
                                        if SOLO_CIFAR[n]["method"] in REFUSED))
def test_a_refused_method_stops_at_once_with_its_reason(
        name: str, cifar: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, run_dir = _run(name, cifar, tmp_path)
    assert code == 2
    method = SOLO_CIFAR[name]["method"]
    err = capsys.readouterr().err
    assert f"method {method!r} is refused: {REFUSED[method]}" in err.replace("\n", " ")
    assert not run_dir.exists() or not any(run_dir.rglob("*.ckpt"))
