"""``train`` progress: one line per epoch when not on a terminal, a bar on one."""

from __future__ import annotations

import doctest
import json
from pathlib import Path

import lightning as L
import pytest
from lightning.pytorch.callbacks import RichProgressBar

from sweeper.ssl import progress
from sweeper.ssl.progress import EpochBar, EpochLines, progress_callback
from tests.cli import run_cli


def test_doctests() -> None:
    assert doctest.testmod(progress).failed == 0


def test_the_line_leaves_out_what_was_not_measured() -> None:
    assert EpochLines.line(epoch=1, max_epochs=1, loss=None, rankme=None, seconds=0.04) \
        == "epoch 1/1  0.0 s"
    assert "RankMe" not in EpochLines.line(epoch=2, max_epochs=5, loss=1.0,
                                           rankme=float("nan"), seconds=1.0)


def test_a_bar_or_lines() -> None:
    assert isinstance(progress_callback(True), RichProgressBar)
    assert isinstance(progress_callback(False), EpochLines)


@pytest.mark.filterwarnings("ignore:The `srun` command is available")
@pytest.mark.parametrize(("max_epochs", "current", "shown"),
                         [(1, 0, "Epoch 1/1"), (10, 8, "Epoch 9/10"), (10, 9, "Epoch 10/10")])
def test_the_bar_counts_epochs_from_1(max_epochs: int, current: int, shown: str) -> None:
    bar = EpochBar()
    trainer = L.Trainer(max_epochs=max_epochs, callbacks=[bar], logger=False,
                        enable_checkpointing=False, accelerator="cpu")
    bar.setup(trainer, L.LightningModule(), "fit")
    assert bar._get_train_description(current).strip() == shown  # what the bar shows


def test_train_not_on_a_terminal_prints_a_line_per_epoch(tmp_path: Path) -> None:
    done = run_cli("train", "max_epochs=2", "monitor.every_n_epochs=2",
                   f"hydra.run.dir={tmp_path}")
    assert done.returncode == 0, done.stderr
    lines = [x for x in (tmp_path / "train.log").read_text().splitlines() if "] - epoch " in x]
    assert len(lines) == 2
    assert "epoch 1/2  loss " in lines[0] and "RankMe" not in lines[0]  # not measured
    assert "epoch 2/2  loss " in lines[1] and "  RankMe " in lines[1] and lines[1].endswith(" s")
    assert "\x1b[" not in done.stdout + done.stderr  # no bar's control characters
    assert "completed: simclr 2 epochs, RankMe " in done.stdout
    # every RankMe names the images it was measured on: the two banks give two values
    record = json.loads((tmp_path / "metrics.json").read_text())
    monitor, objective = record["monitor_bank_size"], record["objective_bank_size"]
    assert f" (monitor bank, {monitor:,} images)  " in lines[1]
    assert f" (objective bank, {objective:,} images) -> " in done.stdout


@pytest.mark.parametrize(("tty", "override", "bar"), [
    (True, [], True), (False, [], False),
    (True, ["enable_progress_bar=false"], False), (False, ["enable_progress_bar=true"], True)])
def test_the_bar_follows_the_terminal_unless_set(tty: bool, override: list[str], bar: bool,
                                                 tmp_path: Path, monkeypatch) -> None:
    import importlib
    import sys

    from sweeper.cli import main

    seen = {}

    def fake_train(cfg, run_dir):
        seen["bar"] = cfg.enable_progress_bar
        return {"run_dir": str(run_dir), "status": "completed", "method": "simclr",
                "epochs": 1, "rankme": 1.23456}

    # the name the train command calls (sweeper.ssl.train is also a function's name)
    monkeypatch.setattr(importlib.import_module("sweeper.commands.train"), "train", fake_train)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: tty, raising=False)
    assert main(["train", *override, f"hydra.run.dir={tmp_path}"]) == 0
    assert seen["bar"] is bar
