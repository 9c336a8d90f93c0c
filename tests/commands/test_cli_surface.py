"""What a user sees of the command line: ``--version``, help, one-line errors that create
nothing, and the values ``status`` prints.

In-process through ``sweeper.cli.main``; nothing here trains.
"""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest
from optuna.distributions import FloatDistribution

from sweeper.cli import main
from sweeper.commands import SUBCOMMANDS
from sweeper.study.status import print_status
from sweeper.study.storage import SUPPORTED_URLS


def test_version_is_the_package_version(capsys) -> None:
    from importlib.metadata import version

    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"rankme-sweeper {version('rankme-sweeper')}"


def test_usage_names_the_project_and_every_subcommand(capsys) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "label-free hyperparameter search" in out and "--version" in out
    for name in SUBCOMMANDS:
        assert f"  {name:<8} " in out
    assert max(len(line) for line in out.splitlines()) <= 80


@pytest.mark.parametrize("sub", ["train", "sweep", "status", "compare"])
def test_subcommand_help_has_our_header_not_hydras(sub: str, capsys, tmp_path,
                                                   monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert main([sub, "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"rankme-sweeper {sub}: ")
    assert "main options:" in out and "label-free" in out
    assert "powered by Hydra" not in out.replace("Powered", "powered")
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("sub", ["sweep", "status", "compare"])
def test_unknown_storage_scheme_lists_the_supported_ones(sub: str, capsys, tmp_path,
                                                         monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert main([sub, "sweep.storage=foo://x"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: sweep.storage 'foo://x': unsupported scheme 'foo'")
    assert err.count("\n") == 1
    for example in SUPPORTED_URLS.values():
        assert example in err
    assert not list(tmp_path.iterdir())  # no study.db, no logs/<timestamp>/


@pytest.mark.parametrize("sub", ["status", "compare"])
def test_missing_study_is_an_error_that_creates_nothing(sub: str, capsys, tmp_path,
                                                        monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert main([sub]) == 2
    assert capsys.readouterr().err.startswith("error: no study database at ")
    assert not list(tmp_path.iterdir())


def test_rejected_sweep_leaves_no_run_dir(capsys, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "keep").mkdir()
    (tmp_path / "keep" / "notes.txt").write_text("a user's file stays")
    assert main(["sweep", "sweep.n_trials=0", "sweep.dir=keep/study"]) == 2
    assert "sweep.n_trials must be an integer >= 1" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["keep", "notes.txt"]


def _study(tmp_path: Path, directions: list[str], values: list[float]) -> optuna.Study:
    study = optuna.create_study(storage=f"sqlite:///{tmp_path / 'study.db'}",
                                study_name="s", directions=directions)
    study.set_user_attr("objectives", ["rankme", "alpha_req"][:len(directions)])
    study.add_trial(optuna.trial.create_trial(
        params={"optimizer.lr": 0.3}, distributions={"optimizer.lr": FloatDistribution(0, 1)},
        values=values, user_attrs={"run_dir": "/a/long/run/dir/trial_0"}))
    return study


def test_status_prints_the_best_value_as_a_number(tmp_path, capsys) -> None:
    from rich.console import Console

    print_status(_study(tmp_path, ["maximize"], [39.4412]), "sqlite:///x", Console(width=200))
    line = capsys.readouterr().out.splitlines()[-1]
    assert line.startswith("best trial 0: 39.44  optimizer.lr=0.3  /a/long/run/dir/trial_0")


def test_status_prints_name_value_pairs_for_several_objectives(tmp_path, capsys) -> None:
    from rich.console import Console

    print_status(_study(tmp_path, ["maximize", "minimize"], [39.4412, 1.23456]), "sqlite:///x",
                 Console(width=200))
    assert "best trial 0: rankme=39.44, alpha_req=1.235  " in capsys.readouterr().out


def test_a_rejected_run_keeps_an_existing_folder_with_older_logs(capsys, tmp_path,
                                                                 monkeypatch) -> None:
    import os

    monkeypatch.chdir(tmp_path)
    old = tmp_path / "mine" / "old.log"
    old.parent.mkdir()
    old.write_text("a log of last week")
    os.utime(old, (0, 0))
    assert main(["sweep", "sweep.n_trials=0", "hydra.run.dir=mine"]) == 2
    assert old.is_file()
