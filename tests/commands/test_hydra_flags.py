"""Every Hydra subcommand takes Hydra's flags, and answers a bad input the same way.

Run in-process through ``sweeper.cli.main``; nothing here trains (``--cfg``, ``--info``,
``--help`` and bad input stop before any work).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hydra._internal.utils import get_args_parser

from sweeper.cli import main
from sweeper.commands.hydra_app import VALUE_FLAGS, flags_first, split_argv
from sweeper.config import group_choices
from tests.cli import run_cli

HYDRA_SUBCOMMANDS = ("train", "sweep", "worker", "status", "compare")
# What each subcommand's config holds beside the training keys.
OWN_BLOCK = {"train": "monitor:", "sweep": "sweep:", "worker": "sweep:", "status": "sweep:",
             "compare": "compare:"}


def _space_dir(folder: Path) -> Path:
    (folder / "space").mkdir(parents=True)
    (folder / "space" / "mine.yaml").write_text("params:\n  optimizer.lr: interval(0.2, 0.7)\n")
    (folder / "method").mkdir()
    (folder / "method" / "mine.yaml").write_text("# a user's method file\n")
    return folder


@pytest.mark.parametrize("sub", HYDRA_SUBCOMMANDS)
def test_cfg_job_prints_the_composed_config(sub: str, capsys, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert main([sub, "method=vicreg", "--cfg", "job"]) == 0
    out = capsys.readouterr().out
    assert "method: vicreg" in out and OWN_BLOCK[sub] in out.splitlines()
    assert "hydra:" not in out
    assert not list(tmp_path.iterdir())  # printing the config writes nothing


@pytest.mark.parametrize("sub", HYDRA_SUBCOMMANDS)
def test_config_dir_adds_a_users_folder_on_top(sub: str, capsys, tmp_path) -> None:
    user = _space_dir(tmp_path / "mine")
    args = [f"--config-dir={user}", "--cfg", "job"] if sub == "train" else \
        ["--config-dir", str(user), "space=mine", "--cfg", "job"]
    assert main([sub, *args]) == 0
    out = capsys.readouterr().out
    if sub != "train":
        assert "optimizer.lr: interval(0.2, 0.7)" in out
    assert main([sub, f"--config-dir={user}", "method=nope"]) == 2
    listed = capsys.readouterr().err.split("choose one of: ")[1].strip().split(", ")
    assert listed == sorted([*group_choices("method"), "mine"])


@pytest.mark.parametrize("sub", HYDRA_SUBCOMMANDS)
def test_info_help_and_run_dir_work(sub: str, capsys, tmp_path) -> None:
    assert main([sub, "--info", "searchpath", f"--config-dir={tmp_path}"]) == 0
    assert f"file://{tmp_path}" in capsys.readouterr().out
    assert main([sub, "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"rankme-sweeper {sub}: ") and "== Configuration groups ==" in out
    assert main([sub, f"hydra.run.dir={tmp_path / 'rd'}", "--cfg", "hydra"]) == 0
    out = capsys.readouterr().out
    assert f"dir: {tmp_path / 'rd'}" in out and f"name: {sub}" in out


BAD = [
    ("method=simclrr", "error: unknown method 'simclrr' (did you mean simclr?); choose one of: "
                       + ", ".join(group_choices("method"))),
    ("data=mnist", "error: unknown dataset 'mnist'; choose one of: "
                   + ", ".join(group_choices("data"))),
    ("max_epoch=1", "error: unknown config key 'max_epoch'; did you mean: max_epochs? (add a "
                    "new key with +max_epoch=...)"),
    ("optimizer.lrr=0.1", "error: unknown config key 'optimizer.lrr'; did you mean: "
                          "optimizer.lr"),
    ("max_epochs=[1", "error: cannot parse override 'max_epochs=[1': "),
]


@pytest.mark.parametrize(("override", "message"), BAD)
def test_a_bad_override_is_one_line_and_exit_2_everywhere(override: str, message: str,
                                                           capsys, tmp_path,
                                                           monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    errors = {}
    for sub in HYDRA_SUBCOMMANDS:
        assert main([sub, override]) == 2, sub
        captured = capsys.readouterr()
        errors[sub] = captured.err
        assert captured.err.startswith(message) and captured.err.count("\n") == 1, \
            (sub, captured.err)
        assert captured.out == ""
    # score reads overrides for a checkpoint's data: the same answer
    assert main(["score", str(tmp_path / "x.ckpt"), override]) == 2
    errors["score"] = capsys.readouterr().err
    assert len(set(errors.values())) == 1, errors
    assert not list(tmp_path.iterdir())  # no run dir, no log, no study


def test_flags_that_hydra_refuses_exit_2_too(capsys, tmp_path) -> None:
    for sub in HYDRA_SUBCOMMANDS:
        assert main([sub, f"--config-dir={tmp_path / 'nope'}"]) == 2
        err = capsys.readouterr().err
        assert err == f"error: Additional config directory '{tmp_path / 'nope'}' not found\n"
        assert main([sub, "--config-name", "nope", "--cfg", "job"]) == 2
        assert capsys.readouterr().err.startswith("error: Cannot find primary config 'nope'")
        assert main([sub, "--bogus"]) == 2  # argparse's usage and error line
        assert "unrecognized arguments: --bogus" in capsys.readouterr().err


def test_a_relative_config_path_is_read_from_the_current_folder(capsys, tmp_path,
                                                                monkeypatch) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "tiny.yaml").write_text("defaults:\n  - train\n  - _self_\n"
                                                 "max_epochs: 7\n")
    monkeypatch.chdir(tmp_path)
    from sweeper.config import CONF_DIR

    args = ["--config-path", "mine", "--config-name", "tiny", f"--config-dir={CONF_DIR}"]
    assert main(["train", *args, "--cfg", "job"]) == 0
    assert "max_epochs: 7" in capsys.readouterr().out


def test_flags_move_before_the_overrides_wherever_they_are() -> None:
    argv = ["a=1", "--cfg", "job", "b=2", "--info", "c=3", "-cd", "/x", "--resolve"]
    assert split_argv(argv) == (["--cfg", "job", "--info", "-cd", "/x", "--resolve"],
                                ["a=1", "b=2", "c=3"])
    assert flags_first(argv)[:6] == ["--cfg", "job", "--info", "-cd", "/x", "--resolve"]
    argv = ["space=mine", "--config-dir", "/x", "sweep.n_trials=3", "-cd=/y", "--cfg", "job"]
    assert flags_first(argv) == ["--config-dir", "/x", "-cd=/y", "--cfg", "job", "space=mine",
                                 "sweep.n_trials=3"]


def test_the_value_flags_are_hydras() -> None:
    """VALUE_FLAGS is written once in hydra_app because Hydra builds its parser in a private
    module: held here to that parser, so a Hydra upgrade that changes its flags fails here."""
    hydras: dict[str, str | None] = {}
    for action in get_args_parser()._actions:
        if action.option_strings and action.nargs != 0:
            long, *short = sorted(action.option_strings, key=len, reverse=True)
            hydras[long] = short[0] if short else None
    assert VALUE_FLAGS == hydras
    assert split_argv(["-sc", "install=bash"]) == (["-sc"], ["install=bash"])  # a switch


def test_a_process_prints_one_line_and_no_traceback(tmp_path) -> None:
    done = run_cli("compare", "--config-dir", str(tmp_path), "sweep.study_name=none",
                   cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith("error: no study database at outputs/sweeps/none/study.db")
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


def test_compare_runs_with_a_users_config_dir(capsys, tmp_path) -> None:
    from tests.report.study_builder import add_trial, metrics_for, new_study

    study, folder, overrides = new_study(tmp_path)
    for noise in (0.1, 0.8):
        add_trial(study, folder, "simclr", noise, metrics_for(60.0 / (1 + noise)))
    user = _space_dir(tmp_path / "mine")
    assert main(["compare", *overrides, "--config-dir", str(user), "space=mine"]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("report: ")
    assert (folder / "report" / "report.json").is_file()


def test_an_unset_environment_variable_is_one_line(capsys, monkeypatch) -> None:
    monkeypatch.delenv("RANKME_TEST_UNSET", raising=False)
    url = "postgresql+psycopg://u:${oc.env:RANKME_TEST_UNSET}@127.0.0.1:1/x"
    assert main(["status", f"sweep.storage={url}"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Environment variable 'RANKME_TEST_UNSET' not found" in err
