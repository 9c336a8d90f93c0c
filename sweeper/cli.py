"""The ``rankme-sweeper`` command: parses, then calls one function per subcommand."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

__all__ = ["main"]


def _score(argv: Sequence[str]) -> int:
    from sweeper.scoring import score_main

    return score_main(argv)


def _sweep(argv: Sequence[str]) -> int:
    from sweeper.study.app import sweep_main

    return sweep_main(argv)


def _worker(argv: Sequence[str]) -> int:
    from sweeper.study.app import worker_main

    return worker_main(argv)


def _status(argv: Sequence[str]) -> int:
    from sweeper.study.app import status_main

    return status_main(argv)


def _compare(argv: Sequence[str]) -> int:
    from sweeper.oracle.compare import compare_main

    return compare_main(argv)


def _train(argv: Sequence[str]) -> int:
    from sweeper.ssl.entry import train_main

    return train_main(argv)


SUBCOMMANDS: dict[str, tuple[Callable[[Sequence[str]], int], str]] = {
    "train": (_train, "one JE-SSL training run (Hydra overrides) -> run dir, metrics.json"),
    "score": (_score, "label-free metrics of embeddings (.npy .npz .pt .safetensors)"),
    "sweep": (_sweep, "create or continue a study; run its workers until n_trials are done"),
    "worker": (_worker, "one worker pulling trials from an existing study (a Slurm job)"),
    "status": (_status, "table of the study's trials and its best trial"),
    "compare": (_compare, "oracle evaluation + selection comparison -> report"),
}


def _usage() -> str:
    lines = ["usage: rankme-sweeper SUBCOMMAND [args]", "", "subcommands:"]
    lines += [f"  {name:<8} {doc}" for name, (_, doc) in SUBCOMMANDS.items()]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(_usage())
        return 0 if args else 2
    name, rest = args[0], args[1:]
    if name not in SUBCOMMANDS:
        print(
            f"error: unknown subcommand {name!r}; choose one of: {', '.join(SUBCOMMANDS)}",
            file=sys.stderr,
        )
        return 2
    return SUBCOMMANDS[name][0](rest)


if __name__ == "__main__":
    sys.exit(main())
