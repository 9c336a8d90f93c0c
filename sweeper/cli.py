"""The ``rankme-sweeper`` command: picks the subcommand, hands the rest to its module.

Each subcommand is a module of :mod:`sweeper.commands`, imported by name only when it runs
(``score`` does not pay for Hydra, ``status`` not for Lightning, ``--help`` for none of them);
the usage reads the table :data:`sweeper.commands.SUBCOMMANDS`.
"""

from __future__ import annotations

import importlib
import sys
import textwrap
import warnings
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as dist_version
from typing import TextIO

from sweeper.commands import SUBCOMMANDS

__all__ = ["main", "version"]


def version() -> str:
    """The installed package's version (``rankme-sweeper --version``)."""
    try:
        return dist_version("rankme-sweeper")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"


def _usage() -> str:
    lines = ["rankme-sweeper: label-free hyperparameter search for joint-embedding",
             "self-supervised learning (JE-SSL), driven by RankMe.", "",
             "usage: rankme-sweeper SUBCOMMAND [args]", "       rankme-sweeper --version",
             "", "subcommands:"]
    for name, command in SUBCOMMANDS.items():
        lines.append(f"  {name:<8} {command.summary}")
        lines += textwrap.wrap(command.options, 79, initial_indent=" " * 13,
                               subsequent_indent=" " * 13, break_on_hyphens=False)
    lines += ["", "rankme-sweeper SUBCOMMAND --help shows a subcommand's config and options.",
              "Hydra subcommands take Hydra's flags (--cfg job, --config-dir DIR, --info,",
              "--help) and overrides (key=value)."]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Runs one subcommand; returns its exit code (2 for an unknown one)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(_usage())
        return 0 if args else 2
    if args[0] in ("-V", "--version"):
        print(f"rankme-sweeper {version()}")
        return 0
    name, rest = args[0], args[1:]
    if name not in SUBCOMMANDS:
        print(f"error: unknown subcommand {name!r}; choose one of: {', '.join(SUBCOMMANDS)}",
              file=sys.stderr)
        return 2
    warnings.showwarning = _one_line_warning
    if SUBCOMMANDS[name].config is None:  # it parses its own line
        code: int = importlib.import_module(f"sweeper.commands.{name}").main(rest)
    else:
        code = importlib.import_module("sweeper.commands.hydra_app").run_app(name, rest)
    return code


def _one_line_warning(message: Warning | str, category: type[Warning], filename: str,
                      lineno: int, file: TextIO | None = None, line: str | None = None) -> None:
    """A warning on the command line: ``warning: <message>``, without the source line."""
    print(f"warning: {message}", file=file or sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
