"""`compare` on a real training run: features extracted from its checkpoint, then cached."""

from __future__ import annotations

import json
import re

import optuna
from optuna.distributions import FloatDistribution

from sweeper.cli import main
from sweeper.config import compose_config
from sweeper.oracle.feature_cache import cache_path
from sweeper.ssl import train
from tests.report.study_builder import COMPARE_FAST


def test_compare_extracts_caches_and_probes_an_ood_entry(tmp_path, capsys) -> None:
    folder = tmp_path / "sweeps" / "real"
    run_dir = folder / "trial_0"
    cfg = compose_config(["max_epochs=1", "optimizer.batch_size=128"])
    metrics = train(cfg, run_dir)
    assert metrics["status"] == "completed"
    url = f"sqlite:///{folder / 'study.db'}"
    study = optuna.create_study(study_name="real", storage=url, direction="maximize")
    study.add_trial(optuna.trial.create_trial(
        params={"optimizer.lr": float(cfg.optimizer.lr)},
        distributions={"optimizer.lr": FloatDistribution(0.01, 10.0)},
        value=metrics["rankme"], user_attrs={"run_dir": str(run_dir)}))
    overrides = ["sweep.study_name=real", f"sweep.storage={url}", *COMPARE_FAST,
                 "compare.ood=[{name: digits_resplit, data: {split: {seed: 1}}}]"]
    assert main(["compare", *overrides]) == 0
    out = capsys.readouterr().out
    # accuracies in percent, as everywhere in the report
    assert re.search(r"probe/kNN test acc \(%\) digits \d+\.\d\d/\d+\.\d\d, "
                     r"digits_resplit \d+\.\d\d/\d+\.\d\d", out)
    files = {d: [cache_path(run_dir, d, s) for s in ("train", "test")]
             for d in ("digits", "digits_resplit")}
    assert all(p.is_file() for paths in files.values() for p in paths)
    stamps = {p: p.stat().st_mtime_ns for paths in files.values() for p in paths}
    report = json.loads((folder / "report" / "report.json").read_text())
    trial = report["trials"][0]
    assert trial["rankme"] == metrics["rankme"]
    assert trial["datasets"]["digits"]["n_test"] == 360
    assert 0.3 < trial["test_acc"] <= 1.0
    assert report["selection"]["simclr"]["rankme"]["test_acc_by_dataset"]["digits_resplit"] \
        == trial["datasets"]["digits_resplit"]["test_acc"]
    # a second run reads the cache instead of extracting again
    assert main(["compare", *overrides]) == 0
    assert all(p.stat().st_mtime_ns == t for p, t in stamps.items())
    stored = optuna.load_study(study_name="real", storage=url).trials[0].user_attrs
    assert stored["oracle_digits_resplit_test_acc"] == trial["datasets"]["digits_resplit"][
        "test_acc"]
