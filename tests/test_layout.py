"""The package's shape: imports flow down (commands -> ssl | study | oracle | report ->
metrics) and never round a circle, imports sit at the top of a module, command-line code
lives in commands/, and every module stays small."""

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


# Where command-line code may live: reading sys.argv, building a parser, a __main__ block,
# setting up the root logger.
COMMAND_LINE = ("commands", "cli")
# What reads the command line or builds a parser, by its dotted name.
COMMAND_LINE_CALLS = {"argparse.ArgumentParser", "hydra.main", "logging.basicConfig",
                      "optparse.OptionParser", "getopt.getopt"}
COMMAND_LINE_NAMES = {"sys.argv"}


def _dotted(node: ast.expr, aliases: dict[str, str]) -> str:
    """``a.b.c`` of an attribute chain, its first name resolved through the imports."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.insert(0, node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return ""
    return ".".join([aliases.get(node.id, node.id), *parts])


def _aliases(tree: ast.Module) -> dict[str, str]:
    """Local name -> what it imports (``from sys import argv`` -> ``argv: sys.argv``)."""
    out: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                out[a.asname or a.name.split(".")[0]] = a.name if a.asname else \
                    a.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for a in node.names:
                out[a.asname or a.name] = f"{node.module}.{a.name}"
    return out


def _command_line_code(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    aliases = _aliases(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _dotted(node.func, aliases) in COMMAND_LINE_CALLS:
            found.append(f"{_dotted(node.func, aliases)}() at line {node.lineno}")
        elif isinstance(node, ast.Attribute | ast.Name) \
                and _dotted(node, aliases) in COMMAND_LINE_NAMES:
            found.append(f"{_dotted(node, aliases)} at line {node.lineno}")
        elif isinstance(node, ast.Compare) and isinstance(node.left, ast.Name) \
                and node.left.id == "__name__" and any(
                    isinstance(c, ast.Constant) and c.value == "__main__"
                    for c in node.comparators):
            found.append(f"a __main__ block at line {node.lineno}")
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else \
                [a.name for a in node.names]
            found += [f"import {n} at line {node.lineno}" for n in names
                      if n in ("argparse", "optparse", "getopt")]
    return found


def test_command_line_code_lives_in_commands() -> None:
    """No module outside commands/ and cli.py reads sys.argv, builds a parser, has a
    __main__ block or sets up logging: a library function is called, not run."""
    wrong = {module: found for module, path in _modules().items()
             if _folder(module) not in COMMAND_LINE and (found := _command_line_code(path))}
    assert wrong == {}


def test_the_command_line_check_finds_what_it_looks_for(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("import sys\nfrom argparse import ArgumentParser as P\nimport hydra\n"
                      "from sys import argv\nimport logging as log\n"
                      "def f():\n    P()\n    hydra.main()\n    log.basicConfig()\n"
                      "    return sys.argv, argv\n"
                      "if __name__ == '__main__':\n    f()\n")
    found = _command_line_code(module)
    assert len(found) == 7, found


# Imports inside a function, by imported module (a prefix): each needs an optional extra.
IMPORTS_INSIDE_FUNCTIONS = {
    "grpc": "the grpc extra (sweep.storage_proxy): gRPC, imported when a proxy runs",
    "optuna.storages._grpc": "imports grpc: the grpc extra",
}


def _runtime_imports(path: Path) -> list[tuple[str, int, bool]]:
    """(imported module, line, inside a function) of each import that runs (not those under
    ``if TYPE_CHECKING:``); ``from sweeper.x import y`` counts as ``sweeper.x.y`` when that is
    a module of the package."""
    modules = _modules()
    found: list[tuple[str, int, bool]] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                for part in child.orelse:
                    visit(part, in_function)
                continue
            inside = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef
                                               | ast.Lambda)
            if isinstance(child, ast.Import):
                found.extend((a.name, child.lineno, in_function) for a in child.names)
            elif isinstance(child, ast.ImportFrom) and child.module and child.level == 0:
                subs = [f"{child.module}.{a.name}" for a in child.names]
                found.extend((s, child.lineno, in_function) for s in subs if s in modules)
                if not all(s in modules for s in subs):
                    found.append((child.module, child.lineno, in_function))
            visit(child, inside)

    visit(ast.parse(path.read_text()), False)
    return found


def _import_graph() -> dict[str, set[str]]:
    """Module -> the package's modules it imports, at its top or inside a function."""
    modules = _modules()
    return {m: {n for n, _, _ in _runtime_imports(p) if n in modules and n != m}
            for m, p in modules.items()}


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return out


def test_no_import_circle() -> None:
    """No two modules import each other, directly or round a circle, counting the imports
    inside functions (each one a circle held open until it runs)."""
    assert _circles(_import_graph()) == []


def test_the_circle_check_finds_a_circle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _circles(graph) == [["a", "b", "c"]]


def test_imports_sit_at_the_top_of_a_module() -> None:
    """An import inside a function hides a dependency from the reader and the import graph;
    only an optional extra's (:data:`IMPORTS_INSIDE_FUNCTIONS`, each with its reason) may
    wait for the function that needs it."""
    wrong = [f"{module}:{line} imports {name}" for module, path in _modules().items()
             for name, line, inside in _runtime_imports(path)
             if inside and not any(name == allowed or name.startswith(allowed + ".")
                                   for allowed in IMPORTS_INSIDE_FUNCTIONS)]
    assert wrong == [], "\n".join(wrong)


def test_the_study_knows_the_training_by_its_train_fn_only() -> None:
    """study/ runs whatever ``sweep.train_fn`` names and asks it through its hooks
    (sweeper.study.train_fn): it imports nothing of sweeper.ssl."""
    wrong = {module: sorted(n for n in _imports(path) if n.startswith("sweeper.ssl"))
             for module, path in _modules().items() if _folder(module) == "study"}
    assert {m: names for m, names in wrong.items() if names} == {}


def test_every_module_is_small() -> None:
    sizes = {m: len(p.read_text().splitlines()) for m, p in _modules().items()}
    assert {m: n for m, n in sizes.items() if n > MAX_LINES} == {}
