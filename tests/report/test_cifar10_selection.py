"""The CIFAR-10 selection experiment end to end on a few hundred real images: the image
folders through `sweep` (the cifar10_cpu_vicreg preset, 2 trials, 1 epoch) and `compare`."""

from __future__ import annotations

import json
from pathlib import Path

import optuna
from optuna.trial import TrialState

from tests.cli import run_cli
from tests.report.study_builder import COMPARE_FAST
from tests.ssl.test_image_folders import small_cifar10


def test_sweep_and_compare_on_cifar10_image_folders(tmp_path: Path) -> None:
    data = small_cifar10(tmp_path / "cifar10", {"train": 50, "test": 20})
    folder = tmp_path / "study"
    common = ["experiment=cifar10_cpu_vicreg", f"data.train_path={data}",
              f"data.cache.dir={tmp_path / 'cache'}", f"sweep.dir={folder}"]
    done = run_cli("sweep", *common, "data.fraction=-1", "max_epochs=1",
                   "sweep.n_trials=2", "sweep.workers=1", "optimizer.batch_size=128",
                   "monitor.bank_size=256", "method_kwargs.proj_hidden_dim=256",
                   "method_kwargs.proj_output_dim=256", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    study = optuna.load_study(study_name="cifar10_cpu_vicreg",
                              storage=f"sqlite:///{folder / 'study.db'}")
    finished = study.get_trials(states=(TrialState.COMPLETE,))
    assert len(finished) == 2  # the other 10 enqueued points wait for a longer sweep
    # the preset's enqueued centre, then the collapse end of the covariance axis
    assert [t.params["method_kwargs.cov_loss_weight"] for t in finished] == [1.0, 0.0]
    for trial in finished:
        metrics = json.loads((folder / f"trial_{trial.number}" / "metrics.json").read_text())
        assert (metrics["objective_bank_size"], metrics["monitor_bank_size"]) == (500, 256)
        assert metrics["rankme"] == trial.value

    compared = run_cli("compare", *common, *COMPARE_FAST, cwd=tmp_path)
    assert compared.returncode == 0, compared.stderr[-3000:]
    report = json.loads((folder / "report" / "report.json").read_text())
    assert [t["objective_bank_size"] for t in report["trials"]] == [500, 500]
    assert all(t["datasets"]["cifar10"]["n_test"] == 200 for t in report["trials"])
    assert all(0.0 <= t["test_acc"] <= 1.0 for t in report["trials"])
    assert "after training on 500 un-augmented training images" in (
        folder / "report" / "report.md").read_text()
    # decoded once: the train folder by the first trial, the test folder by compare
    assert len(list((tmp_path / "cache" / "images").glob("*.npz"))) == 2
