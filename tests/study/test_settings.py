"""The sweep block of conf/sweep.yaml: objectives, directions, samplers, pruners, paths."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest
from omegaconf import OmegaConf

from sweeper.config import compose_config
from sweeper.metrics.registry import SELECTING
from sweeper.study.algorithms import PRUNERS, SAMPLERS, make_pruner, make_sampler
from sweeper.study.settings import (
    LAUNCHERS,
    LocalLauncher,
    SlurmLauncher,
    read_launcher,
    read_settings,
)
from sweeper.study.space import parse_space


@pytest.fixture(scope="module")
def sweep_block() -> dict:
    cfg = compose_config([], config_name="sweep")
    block = OmegaConf.to_container(cfg.sweep, resolve=True)
    assert isinstance(block, dict)
    return block


@pytest.mark.parametrize(("metric", "direction"), [
    ("rankme", "maximize"), ("rankme_projector", "maximize"), ("alpha_req", "minimize"),
    ("nesum", "maximize"), ("stable_rank", "maximize"), ("lidar", "maximize"),
    ("idest", "minimize")])
def test_default_direction_per_metric(sweep_block, metric, direction):
    settings = read_settings({**sweep_block, "objective": metric})
    assert settings.objectives == (metric,) and settings.directions == (direction,)
    assert set(SELECTING) == {"rankme", "rankme_projector", "alpha_req", "nesum",
                              "stable_rank", "lidar", "idest"}


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
    assert settings.storage.url == f"sqlite:///{settings.dir / 'study.db'}"
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


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"n_trials": "abc"}, "sweep.n_trials: Value 'abc' of type 'str' could not be converted"),
        ({"n_trials": 2.5}, "sweep.n_trials: Value '2.5'"),
        ({"workers": True}, "sweep.workers: Value 'True' of type 'bool'"),
        ({"n_trails": 4}, "unknown key sweep.n_trails (did you mean n_trials?); "
                          "conf/sweep.yaml lists every key"),
        ({"sampler": {"name": "tpe", "sed": 1}}, "unknown key sweep.sampler.sed (did you mean "
                                                 "seed?)"),
        ({"pruner": {"min_resource": 1.5}}, "sweep.pruner.min_resource: Value '1.5'"),
        ({"enqueue": {"optimizer.lr": 0.1}}, "sweep.enqueue"),
    ],
)
def test_the_sweep_schema_names_the_bad_key(sweep_block, change, message):
    block = {**sweep_block, **change}
    for group in ("sampler", "pruner"):  # a partial group merges over the shipped one
        if group in change:
            block[group] = {**sweep_block[group], **change[group]}
    with pytest.raises(ValueError) as info:
        read_settings(block)
    assert message in str(info.value)


def test_the_sweep_schema_converts_what_yaml_and_the_command_line_give(sweep_block):
    settings = read_settings({**sweep_block, "n_trials": "5", "max_retries": "0",
                              "pruner": {**sweep_block["pruner"], "max_resource": 9}})
    assert settings.n_trials == 5 and settings.storage.max_retries == 0
    assert settings.pruner["max_resource"] == 9 and settings.pruner["min_resource"] == 1
    assert settings.sampler["seed"] is None


@pytest.mark.parametrize("name", ["local", "slurm"])
def test_the_shipped_launchers_read_typed(name):
    cfg = compose_config([f"launcher={name}"], config_name="sweep")
    launcher = read_launcher(cfg.launcher)  # `folder` resolves ${sweep.dir} in its config
    assert isinstance(launcher, LAUNCHERS[name]) and launcher.name == name
    if isinstance(launcher, SlurmLauncher):
        assert launcher.folder == f"{cfg.sweep.dir}/slurm" and launcher.partition is None
        assert launcher.additional_parameters == {} and launcher.wait is True
        assert (launcher.signal_delay_s, launcher.max_num_timeout) == (120, 3)
    else:
        assert launcher.refresh_s == 2.0


def test_a_bad_launcher_block_is_one_clear_error():
    with pytest.raises(ValueError, match="unknown launcher 'lsf'; choose one of: local, slurm"):
        read_launcher({"name": "lsf"})
    slurm = OmegaConf.to_container(
        compose_config(["launcher=slurm"], config_name="sweep").launcher, resolve=True)
    assert isinstance(slurm, dict)
    with pytest.raises(ValueError, match=r"launcher.time_min: Value '4h'"):
        read_launcher({**slurm, "time_min": "4h"})
    with pytest.raises(ValueError, match=r"unknown key launcher.mem \(did you mean mem_gb\?\); "
                                         r"conf/launcher/slurm.yaml lists every key"):
        read_launcher({**slurm, "mem": 4})
    with pytest.raises(ValueError, match="launcher.wait is missing"):
        read_launcher({k: v for k, v in slurm.items() if k != "wait"})
    with pytest.raises(ValueError, match="launcher.signal_delay_s must be >= 0, got -1"):
        read_launcher({**slurm, "signal_delay_s": -1})


def test_a_cluster_preset_run_locally_drops_its_slurm_resources_with_a_warning():
    cfg = compose_config(["experiment=paper_vicreg_cifar10", "launcher=local"],
                         config_name="sweep")
    block = OmegaConf.to_container(cfg.launcher, resolve=True)
    assert isinstance(block, dict)
    with pytest.warns(UserWarning, match=r"launcher=local does not use the Slurm settings "
                                         r"launcher.gpus_per_node, launcher.cpus_per_task, "
                                         r"launcher.mem_gb, launcher.time_min; left out"):
        launcher = read_launcher(block)
    assert launcher == LocalLauncher(name="local", refresh_s=2.0, trials_per_gpu=1)
    with pytest.raises(ValueError, match=r"unknown key launcher.gpus; conf/launcher/local.yaml"), \
            pytest.warns(UserWarning):
        read_launcher({**block, "gpus": 1})  # a key neither launcher has is still refused
