"""auto_resume: an interrupted run continues from its last checkpoint, same epoch and
optimizer state as a run that was never interrupted."""

from __future__ import annotations

from pathlib import Path

import pytest

from sweeper.ssl import train
from sweeper.ssl.checkpoints import load_checkpoint
from tests.ssl.conftest import digits_cfg

OVERRIDES = ("max_epochs=2", "optimizer=adamw", "optimizer.lr=1e-3", "auto_resume.enabled=true")


def _optimizer_steps(run_dir: Path) -> tuple[int, int, int]:
    ckpt = load_checkpoint(run_dir / "checkpoints" / "last.ckpt")
    state = ckpt["optimizer_states"][0]["state"]
    steps = {int(s["step"]) for s in state.values()}
    assert len(steps) == 1
    return ckpt["epoch"], ckpt["global_step"], steps.pop()


def test_resume_matches_an_uninterrupted_run(tmp_path: Path) -> None:
    whole = train(digits_cfg(*OVERRIDES), tmp_path / "whole")

    def interrupt(epoch: int, metrics: dict[str, float]) -> None:
        if epoch == 2:
            raise RuntimeError("node lost")

    broken = tmp_path / "broken"
    with pytest.raises(RuntimeError, match="node lost"):
        train(digits_cfg(*OVERRIDES), broken, on_monitor=interrupt)
    assert _optimizer_steps(broken)[0] == 0  # only epoch 1 (index 0) was saved
    resumed = train(digits_cfg(*OVERRIDES), broken)

    assert resumed["status"] == whole["status"] == "completed"
    assert resumed["epochs"] == whole["epochs"] == 2
    assert resumed["global_step"] == whole["global_step"]
    assert _optimizer_steps(broken) == _optimizer_steps(tmp_path / "whole")
    assert [h["epoch"] for h in resumed["history"]] == [1, 2]


def test_without_auto_resume_a_run_starts_over(tmp_path: Path) -> None:
    cfg = digits_cfg("max_epochs=1", "optimizer.batch_size=512")
    train(cfg, tmp_path)
    again = train(cfg, tmp_path)
    assert again["epochs"] == 1 and [h["epoch"] for h in again["history"]] == [1]
