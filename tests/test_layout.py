"""The package's shape: imports flow down (commands -> ssl | study | oracle | report ->
metrics), command-line code lives in commands/, and every module stays small."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "sweeper"
ROOMS = ("ssl", "study", "oracle", "report")
# Top-level modules beside cli.py (config, runtime, ...): the base every room may read.
BASE = {p.stem for p in PACKAGE.glob("*.py")} - {"cli", "__init__"}
MAX_LINES = 300


def _modules() -> dict[str, Path]:
    return {".".join(p.relative_to(PACKAGE.parent).with_suffix("").parts): p
            for p in PACKAGE.rglob("*.py")}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return {n for n in names if n == "sweeper" or n.startswith("sweeper.")}


def _folder(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 else parts[-1]  # sweeper.ssl.x -> ssl, sweeper.cli -> cli


def test_no_import_goes_back_up() -> None:
    allowed = {
        "metrics": {"metrics"},
        **{base: BASE for base in BASE},
        **{room: {*ROOMS, "metrics", *BASE} for room in ROOMS},
    }
    wrong = []
    for module, path in _modules().items():
        own = _folder(module)
        if own in ("commands", "cli", "__init__"):
            continue
        for imported in _imports(path):
            target = _folder(imported)
            if target != own and target not in allowed[own]:
                wrong.append(f"{module} imports {imported}")
    assert not wrong, "\n".join(wrong)


def test_command_line_code_lives_in_commands() -> None:
    for module, path in _modules().items():
        if _folder(module) in (*ROOMS, "metrics"):
            text = path.read_text()
            assert "argparse" not in text and "hydra.main" not in text, module


def test_every_module_is_small() -> None:
    sizes = {m: len(p.read_text().splitlines()) for m, p in _modules().items()}
    assert {m: n for m, n in sizes.items() if n > MAX_LINES} == {}
