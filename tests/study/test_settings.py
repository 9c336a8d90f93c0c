"""The sweep block of conf/sweep.yaml: objectives, directions, samplers, pruners, paths."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest
from omegaconf import OmegaConf

from sweeper.config import compose_config
from sweeper.study.algorithms import PRUNERS, SAMPLERS, make_pruner, make_sampler
from sweeper.study.settings import DEFAULT_DIRECTIONS, read_settings
from sweeper.study.space import parse_space


@pytest.fixture(scope="module")
def sweep_block() -> dict:
    cfg = compose_config([], config_name="sweep")
    block = OmegaConf.to_container(cfg.sweep, resolve=True)
    assert isinstance(block, dict)
    return block


@pytest.mark.parametrize(("metric", "direction"), [
    ("rankme", "maximize"), ("rankme_projector", "maximize"), ("alpha_req", "minimize"),
    ("nesum", "maximize"), ("stable_rank", "maximize"), ("lidar", "maximize")])
def test_default_direction_per_metric(sweep_block, metric, direction):
    settings = read_settings({**sweep_block, "objective": metric})
    assert settings.objectives == (metric,) and settings.directions == (direction,)
    assert set(DEFAULT_DIRECTIONS) == {"rankme", "rankme_projector", "alpha_req", "nesum",
                                       "stable_rank", "lidar"}


def test_multi_objective_and_direction_override(sweep_block):
    both = read_settings({**sweep_block, "objective": ["rankme", "alpha_req"]})
    assert both.multi_objective and both.directions == ("maximize", "minimize")
    flipped = read_settings({**sweep_block, "objective": "alpha_req", "direction": "maximize"})
    assert flipped.directions == ("maximize",)
    with pytest.raises(ValueError, match="sweep.direction has 1 entries for 2 objectives"):
        read_settings({**sweep_block, "objective": ["rankme", "lidar"], "direction": "maximize"})
    with pytest.raises(ValueError, match="lists a metric twice"):
        read_settings({**sweep_block, "objective": ["rankme", "rankme"]})


def test_default_storage_is_sqlite_under_the_study_folder(sweep_block, tmp_path):
    settings = read_settings(sweep_block, base=tmp_path)
    assert settings.dir == tmp_path / "outputs" / "sweeps" / settings.study_name
    assert settings.storage == f"sqlite:///{settings.dir / 'study.db'}"
    assert settings.train_fn == "sweeper.ssl:train"


def test_missing_key_is_named(sweep_block):
    block = dict(sweep_block)
    del block["heartbeat_s"]
    with pytest.raises(ValueError, match="sweep.heartbeat_s is missing"):
        read_settings(block)


@pytest.mark.parametrize("name", SAMPLERS)
def test_every_sampler_builds_and_samples(sweep_block, name, tmp_path: Path):
    space = parse_space({"optimizer.lr": "choice(0.1, 0.3)", "method_kwargs.width": "range(1, 3)"})
    options = {**sweep_block["sampler"], "name": name, "seed": 3}
    sampler = make_sampler(options, space, worker_index=1)
    directions = ["maximize", "minimize"] if name == "nsgaii" else ["maximize"]
    study = optuna.create_study(sampler=sampler, directions=directions)
    for _ in range(3):
        trial = study.ask()
        values = [trial.suggest_categorical("optimizer.lr", [0.1, 0.3]),
                  trial.suggest_int("method_kwargs.width", 1, 2)]
        study.tell(trial, values[: len(directions)])
    assert len(study.trials) == 3


def test_seeded_workers_draw_different_sequences(sweep_block):
    space = parse_space({"optimizer.lr": "interval(0.0, 1.0)"})
    draws = []
    for worker in (0, 1):
        sampler = make_sampler({**sweep_block["sampler"], "name": "random", "seed": 7}, space,
                               worker_index=worker)
        study = optuna.create_study(sampler=sampler)
        draws.append([study.ask().suggest_float("optimizer.lr", 0.0, 1.0) for _ in range(3)])
    assert draws[0] != draws[1]


@pytest.mark.parametrize("name", PRUNERS)
def test_every_pruner_builds(sweep_block, name):
    assert isinstance(make_pruner({**sweep_block["pruner"], "name": name}),
                      optuna.pruners.BasePruner)


@pytest.mark.parametrize(("space", "method"), [("simclr_digits", "simclr"), ("vicreg", "vicreg"),
                                               ("barlow_twins", "barlow_twins"), ("byol", "byol")])
def test_shipped_spaces_fit_their_method(space, method):
    from sweeper.study.plan import make_plan

    cfg = compose_config([f"space={space}", f"method={method}"], config_name="sweep")
    plan = make_plan(cfg)
    assert plan.space and all(p.key in cfg.space.params for p in plan.space.values())
