"""Composing training configs from conf/: groups, struct mode, foreign (solo-learn) files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from omegaconf import OmegaConf

import sweeper.config as config
from sweeper.config import CONF_DIR, ConfigError, complete_config, compose_config, group_choices

SOLO = Path(__file__).resolve().parent / "ssl" / "solo_learn" / "vicreg.yaml"


def test_the_default_is_a_fast_digits_run_on_the_cpu() -> None:
    cfg = compose_config()
    assert (cfg.data.dataset, cfg.backbone.name, cfg.method) == ("digits", "digits_cnn", "simclr")
    assert cfg.accelerator == "cpu" and cfg.monitor.every_n_epochs == 1
    assert cfg.monitor.bank_size == 192 and cfg.seed == 0
    assert cfg.monitor.objective_bank_size == 25_600  # the objective: the paper's bank size
    cifar = compose_config(["data=cifar10"]).monitor
    assert (cifar.bank_size, cifar.objective_bank_size) == (4096, 25_600)


def test_data_digits_picks_the_cnn_unless_a_backbone_is_given() -> None:
    assert compose_config(["data=digits"]).backbone.name == "digits_cnn"
    assert compose_config(["data=digits", "backbone=resnet18"]).backbone.name == "resnet18"
    assert compose_config(["data=cifar10"]).backbone.name == "resnet18"


def test_each_method_file_carries_solo_learn_defaults() -> None:
    from sweeper.ssl.methods import METHODS

    assert set(group_choices("method")) == set(METHODS) == {
        "simclr", "vicreg", "byol", "barlow_twins", "mocov3", "dino", "simsiam", "nnclr",
        "nnbyol", "nnsiam", "mocov2plus", "ressl", "swav", "mae", "vibcreg", "wmse",
        "deepclusterv2", "all4one"}
    all4one = compose_config(["method=all4one"])
    assert all4one.method_kwargs.queue_size == 98304 and all4one.momentum.base_tau == 0.99
    simsiam = compose_config(["method=simsiam"])
    assert simsiam.optimizer.name == "sgd" and simsiam.optimizer.lr == 0.5
    byol = compose_config(["method=byol"])
    assert byol.optimizer.lr == 1.0 and byol.method_kwargs.proj_hidden_dim == 4096
    assert compose_config(["method=simsiam", "optimizer=adamw"]).optimizer.name == "adamw"


def test_struct_mode_names_the_misspelled_key_and_the_nearest_ones() -> None:
    with pytest.raises(ConfigError, match=r"'optimizer.weight_decy'.*optimizer.weight_decay"):
        compose_config(["optimizer.weight_decy=0.1"])
    cfg = compose_config()
    with pytest.raises(Exception, match="not in struct"):
        cfg.max_epoch = 3


def test_unknown_group_options_list_the_choices() -> None:
    with pytest.raises(ConfigError, match="choose one of: adam, adamw, lars, lars_cifar, "
                                          "lars_cifar_noclip, sgd"):
        compose_config(["optimizer=adagrad"])


def test_a_solo_learn_file_is_completed_with_our_defaults() -> None:
    solo = OmegaConf.load(SOLO)
    del solo["defaults"], solo["hydra"]
    cfg = complete_config(solo)
    assert cfg.method == "vicreg" and cfg.backbone.name == "resnet18"
    assert cfg.method_kwargs.var_loss_weight == 25.0 and cfg.optimizer.kwargs.eta == 0.02
    assert cfg.augmentations[0].rrc.crop_min_scale == 0.2  # theirs replace ours whole
    assert cfg.monitor.every_n_epochs == 1 and cfg.data.load_size == 32


def test_a_foreign_file_with_an_unknown_key_is_refused() -> None:
    solo = OmegaConf.create({"method": "vicreg", "backbone": {"name": "resnet18"},
                             "data": {"dataset": "cifar10"}, "optimizer": {"name": "lars"},
                             "max_epoch": 3})
    with pytest.raises(ConfigError, match="'max_epoch'.*max_epochs"):
        complete_config(solo)


def test_the_conf_dir_is_the_repos_top_level_conf() -> None:
    assert CONF_DIR == Path(__file__).resolve().parent.parent / "conf"
    assert (CONF_DIR / "train.yaml").is_file()


def test_completing_composes_our_defaults_once_per_choice_of_groups(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    conf = shutil.copytree(CONF_DIR, tmp_path / "conf")  # a folder no other test completed from
    composed = []
    compose = config.compose
    monkeypatch.setattr(config, "compose", lambda **kw: composed.append(kw) or compose(**kw))
    solo = OmegaConf.load(SOLO)
    del solo["defaults"], solo["hydra"]
    first = complete_config(solo, conf_dir=conf)
    assert complete_config(first, conf_dir=conf) is first  # complete: returned as is
    assert complete_config(solo, conf_dir=conf) == first
    assert len(composed) == 1
