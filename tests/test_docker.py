"""docker/ stays consistent with the project: the compose services' commands are real
subcommands whose overrides compose into a sweep on the compose PostgreSQL, and the
Dockerfile pins the torch the package requires.

Building the image needs root and minutes: ``docker/verify-local.sh`` does it, not the tests.
"""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path

import pytest
import yaml

from sweeper.cli import main
from sweeper.commands import SUBCOMMANDS

DOCKER = Path(__file__).resolve().parents[1] / "docker"
ROOT = DOCKER.parent


def _compose(name: str) -> dict:
    data = yaml.safe_load((DOCKER / name).read_text())
    assert isinstance(data, dict)
    return data


def _interpolate(text: str) -> str:
    """Compose's variable substitution with every variable unset: ``${VAR:-default}``
    becomes its default, ``$${`` a literal ``${``."""
    text = re.sub(r"(?<!\$)\$\{\w+:-([^}]*)\}", r"\1", text)
    assert re.search(r"(?<!\$)\$\{\w+\}", text) is None, f"a variable with no default: {text}"
    return text.replace("$${", "${")


def _argv(service: dict) -> list[str]:
    command = service["command"]
    args = shlex.split(command) if isinstance(command, str) else list(command)
    return [_interpolate(a) for a in args]


def test_compose_services_and_dashboard() -> None:
    services = _compose("compose.yaml")["services"]
    assert set(services) == {"postgres", "sweep", "worker", "dashboard"}
    assert services["worker"]["deploy"]["replicas"] == "${WORKERS:-2}"
    assert services["dashboard"]["entrypoint"] == ["optuna-dashboard"]
    storage = _argv(services["dashboard"])[0]
    assert storage == "postgresql+psycopg://sweeper:sweeper@postgres:5432/sweeps"
    env = services["postgres"]["environment"]
    assert (env["POSTGRES_USER"], env["POSTGRES_DB"]) == ("sweeper", "sweeps")
    gpu = _compose("compose.gpu.yaml")["services"]
    assert set(gpu) <= set(services)  # an override file: it adds no service of its own
    assert gpu["worker"]["build"]["args"]["VARIANT"] == "cuda"


@pytest.mark.parametrize("name", ["sweep", "worker"])
def test_compose_commands_compose_into_the_study(name: str, capsys, tmp_path,
                                                 monkeypatch) -> None:
    argv = _argv(_compose("compose.yaml")["services"][name])
    assert argv[0] == name and argv[0] in SUBCOMMANDS
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RANKME_SWEEPER_STORAGE_PASSWORD", "pw")
    assert main([*argv, "--cfg", "job", "--resolve"]) == 0
    out = capsys.readouterr().out
    assert "  study_name: digits" in out.splitlines()
    assert "  storage: postgresql+psycopg://sweeper:pw@postgres:5432/sweeps" in out.splitlines()
    assert not list(tmp_path.iterdir())


def test_dockerfile_pins_the_packages_torch() -> None:
    text = (DOCKER / "Dockerfile").read_text()
    for arg in ("BASE", "VARIANT", "TORCH_INDEX_URL"):
        assert re.search(rf"^ARG {arg}\b", text, re.M), arg
    assert 'ENTRYPOINT ["rankme-sweeper"]' in text
    users = re.findall(r"^USER (\S+)", text, re.M)
    assert users and users[-1] not in {"root", "0"}
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    pins = [d for d in deps if d.startswith(("torch==", "torchvision=="))]
    assert len(pins) == 2
    assert f"pip install ${{index:+--index-url \"$index\"}} {' '.join(pins)}" in text
