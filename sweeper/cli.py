"""The ``rankme-sweeper`` command: picks the subcommand, hands the rest to its module.

Each subcommand is a module of :mod:`sweeper.commands`, imported only when it runs (``score``
does not pay for Hydra, ``status`` not for Lightning).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

from sweeper.commands import SUBCOMMANDS

__all__ = ["main"]


def _usage() -> str:
    lines = ["usage: rankme-sweeper SUBCOMMAND [args]", "", "subcommands:"]
    for name in SUBCOMMANDS:
        summary = importlib.import_module(f"sweeper.commands.{name}").SUMMARY
        lines.append(f"  {name:<8} {summary}")
    lines += ["", "Hydra subcommands take Hydra's flags (--cfg job, --config-dir DIR, --info, "
              "--help) and overrides (key=value)."]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Runs one subcommand; returns its exit code (2 for an unknown one)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(_usage())
        return 0 if args else 2
    name, rest = args[0], args[1:]
    if name not in SUBCOMMANDS:
        print(f"error: unknown subcommand {name!r}; choose one of: {', '.join(SUBCOMMANDS)}",
              file=sys.stderr)
        return 2
    command = importlib.import_module(f"sweeper.commands.{name}")
    code: int = command.main(rest)
    return code


if __name__ == "__main__":
    sys.exit(main())
