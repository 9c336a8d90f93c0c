"""Seeds: each point of a study trained once per seed, recorded, and grouped by ``compare``."""

from __future__ import annotations

import json
import statistics

import optuna
import pytest
from omegaconf import OmegaConf, open_dict
from rich.console import Console

from sweeper.cli import main
from sweeper.config import compose_config
from sweeper.ssl import train
from sweeper.study.plan import make_plan, open_study
from sweeper.study.status import trials_table
from sweeper.study.storage import open_storage
from sweeper.study.trial import ask_trial
from sweeper.study.worker import run_worker
from tests.report.study_builder import COMPARE_FAST


def _config(folder, *extra: str):
    cfg = compose_config([
        "sweep.study_name=seeded", f"sweep.storage=sqlite:///{folder / 'study.db'}",
        f"sweep.dir={folder}", "sweep.seeds=2", "sweep.n_trials=2", "sweep.workers=1",
        "sweep.sampler.name=random", "sweep.sampler.seed=0", "sweep.pruner.name=none",
        "sweep.enqueue=[{optimizer.lr: 0.3}]", "max_epochs=1",
        "limit_train_batches=4", "seed=7", *extra],
        config_name="sweep")
    with open_dict(cfg):
        cfg.space.params = {"optimizer.lr": "interval(0.1, 1.0)"}
    return cfg


@pytest.mark.filterwarnings("ignore:Heartbeat of storage")
def test_a_sampled_point_enqueues_its_other_seeds_next(tmp_path) -> None:
    plan = make_plan(_config(tmp_path, "sweep.seeds=3", "sweep.n_trials=6", "sweep.enqueue=[]"),
                     check_trials=False)
    study = open_study(plan, create=True, storage=open_storage(plan.settings.storage))
    first = ask_trial(study, plan)
    siblings = [ask_trial(study, plan) for _ in range(2)]
    assert first.user_attrs["seed"] == 7
    assert [t.user_attrs["seed"] for t in siblings] == [8, 9]
    assert all(t.params == first.params for t in siblings)
    assert ask_trial(study, plan).params != first.params  # then a new point, seed 7 again
    assert [t.user_attrs.get("seed") for t in study.trials] == [7, 8, 9, 7, 8, 9]
    console = Console(record=True, width=200)
    console.print(trials_table(study, "sqlite://"))
    assert console.export_text().count("(seed 9)") == 2  # status shows each trial's seed


def test_each_point_trains_once_per_seed_and_compare_reports_seed_means(
        tmp_path, capsys) -> None:
    folder = tmp_path / "sweeps" / "seeded"
    plan = make_plan(_config(folder))
    storage = open_storage(plan.settings.storage)
    open_study(plan, create=True, storage=storage)
    run_worker(plan, train, storage=storage)

    trials = optuna.load_study(study_name="seeded", storage=storage).trials
    assert [t.state.name for t in trials] == ["COMPLETE"] * 2
    by_point: dict[float, list[optuna.trial.FrozenTrial]] = {}
    for t in trials:
        assert set(t.params) == {"optimizer.lr"}  # the seed is not a searched param
        by_point.setdefault(t.params["optimizer.lr"], []).append(t)
    assert list(by_point) == [0.3]  # the enqueued point, once per seed
    for point in by_point.values():
        assert sorted(t.user_attrs["seed"] for t in point) == [7, 8]
        for t in point:  # each run trained with its own seed
            assert OmegaConf.load(f"{t.user_attrs['run_dir']}/config.yaml").seed == \
                t.user_attrs["seed"]
        assert point[0].value != point[1].value  # another seed, another run

    assert main(["compare", "sweep.study_name=seeded",
                 f"sweep.storage=sqlite:///{folder / 'study.db'}", *COMPARE_FAST]) == 0
    report = json.loads((folder / "report" / "report.json").read_text())
    test_acc = {t["number"]: t["test_acc"] for t in report["trials"]}
    points = {p["params"]["optimizer.lr"]: p for p in report["points"]}
    for lr, point in points.items():
        numbers = sorted(t.number for t in by_point[lr])
        accs = [test_acc[n] for n in numbers]
        assert point["trials"] == numbers and sorted(point["seeds"]) == [7, 8]
        assert point["test_acc"] == pytest.approx(statistics.fmean(accs))
        assert point["spread"]["test_acc"]["std"] == pytest.approx(statistics.stdev(accs))
        assert point["spread"]["rankme"]["n"] == 2
    floor = report["noise_floor"]["simclr"]
    assert floor["params"] == {"optimizer.lr": 0.3}
    assert floor["std"] == pytest.approx(points[0.3]["spread"]["test_acc"]["std"])
    # picks are points, on seed means
    oracle = report["selection"]["simclr"]["oracle"]
    assert oracle["trials"] == points[0.3]["trials"]
    assert oracle["test_acc"] == pytest.approx(points[0.3]["test_acc"])
    noise = f"noise floor {100 * floor['std']:.2f}"
    markdown = (folder / "report" / "report.md").read_text()
    assert noise in markdown and "## Points (mean ± std over seeds)" in markdown
    assert noise in (folder / "report" / "report.html").read_text()
    assert noise in capsys.readouterr().out


@pytest.mark.parametrize(("extra", "message"), [
    (["sweep.n_trials=5"], "sweep.n_trials=5 is not a multiple of sweep.seeds=2"),
    (["sweep.seeds=0"], "sweep.seeds"),
])
def test_inconsistent_seed_settings_are_refused_by_name(tmp_path, extra, message) -> None:
    with pytest.raises(ValueError, match=message):
        make_plan(_config(tmp_path, *extra), check_trials=False)


def test_a_grid_counts_points_times_seeds(tmp_path) -> None:
    cfg = _config(tmp_path, "sweep.sampler.name=grid", "sweep.n_trials=6", "sweep.enqueue=[]")
    # (a grid of 2 points x 2 seeds holds 4 trials)
    with open_dict(cfg):
        cfg.space.params = {"optimizer.lr": "choice(0.3, 0.6)"}
    with pytest.raises(ValueError, match=r"2 points x sweep.seeds=2, fewer than sweep.n_trials"
                                         r"=6; set sweep.n_trials=4"):
        make_plan(cfg, check_trials=False)


def test_a_seed_in_the_search_space_is_refused_with_seeds(tmp_path) -> None:
    cfg = _config(tmp_path)
    with open_dict(cfg):
        cfg.space.params = {"optimizer.lr": "interval(0.1, 1.0)", "seed": "choice(1, 2)"}
    with pytest.raises(ValueError, match="drop seed from the search space"):
        make_plan(cfg, check_trials=False)
