"""The built wheel, installed (not editable) apart from the checkout, runs every subcommand
from an empty folder: its configs travel inside it.

The wheel is built from a copy of the checkout's sources (nothing is written into the
checkout) and installed without dependencies into a target folder that comes first on the
import path of ``.venv``'s interpreter (``PYTHONSAFEPATH`` keeps the current folder off it),
so the installed copy answers, with the dependencies of ``.venv``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from tests.cli import REPO, cli_env, run_cli
from tests.report.study_builder import COMPARE_FAST
from tests.ssl.conftest import SMALL

QUICK = [*SMALL, "max_epochs=1"]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder the wheel was installed into."""
    root = tmp_path_factory.mktemp("wheel")
    src = root / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, src / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("sweeper", "conf"):
        shutil.copytree(REPO / name, src / name, ignore=ignore)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(root / "dist"), str(src)], check=True, capture_output=True, timeout=300)
    (wheel,) = (root / "dist").glob("rankme_sweeper-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {f"sweeper/{p.relative_to(REPO / 'sweeper').as_posix()}"
                for p in (REPO / "sweeper").rglob("*.py")}
    expected |= {f"sweeper/conf/{p.relative_to(REPO / 'conf').as_posix()}"
                 for p in (REPO / "conf").rglob("*.yaml")}
    assert expected - names == set(), "the wheel lacks these files of the checkout"
    target = root / "site"
    subprocess.run([*pip, "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
                   check=True, capture_output=True, timeout=300)
    return target


def test_every_subcommand_runs_from_an_empty_folder(installed: Path, tmp_path: Path) -> None:
    env = cli_env(installed)
    where = subprocess.run(
        [sys.executable, "-c", "import sweeper, sweeper.config as c; "
         "print(sweeper.__file__); print(c.CONF_DIR)"],
        cwd=tmp_path, env=env, capture_output=True, text=True, check=True)
    package, conf = where.stdout.split()
    assert Path(package).is_relative_to(installed) and Path(conf) == installed / "sweeper" / "conf"

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        done = run_cli(*args, cwd=tmp_path, env=env)
        assert done.returncode == 0, f"{args[0]}: {done.stderr[-3000:]}"
        return done

    done = cli("train", *QUICK, "hydra.run.dir=run")
    assert "completed: simclr 1 epoch, RankMe " in done.stdout
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["status"] == "completed"

    study = ["sweep.study_name=wheel"]
    cli("sweep", *study, *QUICK, "sweep.n_trials=2", "sweep.workers=1", "launcher.refresh_s=0")
    url = f"sqlite:///{tmp_path / 'outputs' / 'sweeps' / 'wheel' / 'study.db'}"
    trials = optuna.load_study(study_name="wheel", storage=url).trials
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 2
    assert all(Path(t.user_attrs["run_dir"]).is_relative_to(tmp_path) for t in trials)
    logs = "\n".join(p.read_text() for p in tmp_path.rglob("worker_*.log"))
    assert "Traceback" not in logs

    assert "best trial" in cli("status", *study).stdout
    done = cli("compare", *study, *COMPARE_FAST)
    assert "report:" in done.stdout.splitlines()[-1]
    report = json.loads((tmp_path / "outputs" / "sweeps" / "wheel" / "report" / "report.json")
                        .read_text())
    assert report["study"]["n_evaluated"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["outputs", "run"]
