"""What ``sweep`` writes when its output is not a terminal: a line per trial start (with all its
params), epoch and end, unwrapped, on the console and in its log."""

from __future__ import annotations

from pathlib import Path

from omegaconf import OmegaConf

from sweeper.config import CONF_DIR
from tests.cli import run_cli


def test_sweep_prints_a_line_per_trial_start_and_end(tmp_path: Path) -> None:
    folder = tmp_path / ("a-long-folder-name-" * 4) / "study"
    done = run_cli("sweep", "max_epochs=1", "sweep.n_trials=2", "sweep.workers=1",
                   f"sweep.dir={folder}", "launcher.refresh_s=0.2", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stderr.splitlines()
    space = OmegaConf.load(CONF_DIR / "space" / "simclr_digits.yaml").params
    for number in (0, 1):
        (started,) = [x for x in lines if x.startswith(f"trial {number} started: ")]
        assert [p.split("=")[0] for p in started.split(": ", 1)[1].split(", ")] == list(space)
        # not on a terminal: a line per epoch the trial reports
        assert any(x.startswith(f"trial {number} epoch 1/1: rankme=") for x in lines)
        ended = [x for x in lines if x.startswith(f"trial {number} COMPLETE: rankme=")]
        assert len(ended) == 1 and ended[0].endswith(" s")
    assert any(str(folder / "workers") in x for x in lines)  # the path is not wrapped
    (log,) = (folder / "logs").glob("*/sweep.log")
    assert "trial 1 COMPLETE: rankme=" in log.read_text()
    (worker_log,) = (folder / "workers").glob("*/worker_0.log")
    assert "trial 0 started: optimizer.lr=" in worker_log.read_text()
