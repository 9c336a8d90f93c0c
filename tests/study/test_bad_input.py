"""Bad input: a clear error and a non-zero exit before any trial is created."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest

from sweeper.cli import main
from tests.study.conftest import sqlite_url

QUICK = ["max_epochs=1", "sweep.n_trials=1",
         "sweep.workers=1", "launcher.refresh_s=0"]


def _space(folder: Path, name: str, params: dict[str, str]) -> list[str]:
    (folder / "space").mkdir(parents=True, exist_ok=True)
    lines = ["params:"] + [f"  {k}: {v!r}" if "'" not in v else f'  {k}: "{v}"'
                           for k, v in params.items()]
    (folder / "space" / f"{name}.yaml").write_text("\n".join(lines) + "\n")
    return [f"--config-dir={folder}", f"space={name}"]


def _assert_no_trials(url: str) -> None:
    storage = optuna.storages.RDBStorage(url)
    for summary in optuna.get_all_study_summaries(storage):
        assert summary.n_trials == 0


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"optimizer.lrr": "interval(0.1, 1.0)"}, "'optimizer.lrr' is not a training config key"),
        ({"nope.lr": "interval(0.1, 1.0)"}, "'nope.lr' is not a training config key"),
        ({"optimizer.lr": "interval(0.1,"}, "bad expression 'interval(0.1,'"),
        ({"optimizer.lr": "range(5, 1)"}, "empty range"),
        ({"optimizer.lr": "interval(1, 0.1)"}, "empty interval"),
        ({"optimizer.lr": "normal(0, 1)"}, "Unknown function 'normal'"),
    ],
)
def test_bad_space_fails_before_any_trial(workdir, capsys, params, message):
    code = main(["sweep", *QUICK, *_space(workdir / "conf", "mine", params)])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and err.startswith("error:")
    assert not list(workdir.rglob("study.db"))  # rejected before the storage was touched


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("sweep.sampler.name=bayes", "unknown sampler 'bayes'"),
        ("sweep.pruner.name=early", "unknown pruner 'early'"),
        ("sweep.objective=accuracy", "sweep.objective 'accuracy' is not a metric"),
        ("sweep.direction=up", "sweep.direction 'up' must be maximize or minimize"),
        ("sweep.n_trials=0", "sweep.n_trials must be an integer >= 1"),
        ("sweep.n_trials=many", "sweep.n_trials: Value 'many' of type 'str' could not be"),
        ("sweep.sampler.seed=1.5", "sweep.sampler.seed: Value '1.5'"),
        ("sweep.heartbeat_s=1", "sweep.heartbeat_s must be an integer >= 2"),
        ("sweep.objective=[rankme,lidar]", "needs a single objective"),
        ("sweep.objective=idest", "'idest' is measured only with monitor.idest.enabled=true"),
        ("sweep.enqueue=[{optimizer.momentum:0.9}]", "is not a search-space key"),
        ("sweep.enqueue=[{optimizer.lr:100.0}]", "is outside tag(log, interval(0.01, 5.0))"),
        ("sweep.sampler.name=grid", "the grid sampler needs finite params"),
        ("sweep.train_fn=nowhere:train", "cannot be imported"),
    ],
)
def test_bad_settings_fail_before_any_trial(workdir, capsys, override, message):
    code = main(["sweep", *QUICK, override])
    err = capsys.readouterr().err
    assert code == 2, err
    assert message in err
    for db in workdir.rglob("study.db"):
        _assert_no_trials(f"sqlite:///{db}")


def test_grid_smaller_than_n_trials(workdir, capsys):
    space = _space(workdir / "conf", "small", {"optimizer.lr": "choice(0.1, 0.3)"})
    code = main(["sweep", *QUICK, *space, "sweep.sampler.name=grid", "sweep.n_trials=3"])
    assert code == 2
    assert "the grid has 2 points, fewer than sweep.n_trials=3" in capsys.readouterr().err


def test_unreachable_storage_masks_its_password(workdir, capsys):
    url = "postgresql+psycopg://alice:s3cr3t-pw@127.0.0.1:1/test"
    code = main(["sweep", *QUICK, f"sweep.storage={url}"])
    out = capsys.readouterr()
    assert code == 2
    assert "cannot reach storage 'postgresql+psycopg://alice:***@127.0.0.1:1/test'" in out.err
    assert "s3cr3t-pw" not in out.err + out.out


def test_existing_study_with_other_directions(workdir, capsys, study_name):
    url = sqlite_url(workdir)
    optuna.create_study(study_name=study_name, storage=url, direction="maximize")
    code = main(["sweep", *QUICK, f"sweep.storage={url}", f"sweep.study_name={study_name}",
                 "sweep.objective=alpha_req"])  # alpha_req is minimized
    err = capsys.readouterr().err
    assert code == 2
    assert "has directions ['maximize'], the config asks for ['minimize']" in err
    assert len(optuna.load_study(study_name=study_name, storage=url).trials) == 0


def test_worker_needs_an_existing_study(workdir, capsys, study_name):
    code = main(["worker", *QUICK, f"sweep.storage={sqlite_url(workdir)}",
                 f"sweep.study_name={study_name}"])
    assert code == 2
    assert f"no study {study_name!r}" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["data=cifar10"], "the training config fails before any trial: data.train_path is "
                           "not set: dataset 'cifar10' reads local files"),
        (["data=cifar10", "data.train_path=nowhere"],
         "data.train_path folder 'nowhere' does not exist"),
        (["data=custom", "data.train_path=nowhere"], "image folder 'nowhere' does not exist"),
        (["method=vicreg", "space=simclr_digits"],
         "search space key 'method_kwargs.temperature' is not a training config key"),
        (["devices=2", "strategy=auto"], "devices=2 with strategy='auto': a trial on 2 "
                                         "devices trains with DDP ranks; set strategy=ddp"),
        (["devices=auto"], "devices='auto': a sweep trial needs a count of devices"),
    ],
)
def test_what_every_trial_needs_is_checked_before_the_study(workdir, capsys, overrides,
                                                             message):
    # Before, `sweep data=cifar10` created the study, then each trial FAILed in a worker.
    code = main(["sweep", *QUICK, *overrides])
    err = capsys.readouterr().err
    assert code == 2, err
    assert message in err and err.count("\n") == 1, err
    assert not list(workdir.rglob("*"))  # nothing created: no study, no logs folder


def test_a_param_end_that_breaks_training_is_named(workdir, capsys):
    space = _space(workdir / "conf", "bad_end",
                   {"backbone.name": "choice(digits_cnn, no_such_net)"})
    code = main(["sweep", *QUICK, *space])
    err = capsys.readouterr().err
    assert code == 2, err
    assert ("the training config at backbone.name='no_such_net' fails before any trial: "
            "unknown backbone 'no_such_net'") in err
    assert not list(workdir.rglob("study.db"))
