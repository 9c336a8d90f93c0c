"""``python -m sweeper.commands.worker_process CONFIG.yaml INDEX``: one local worker process.

What the local launcher (:mod:`sweeper.study.launch_local`) starts for each worker: it runs
:func:`~sweeper.study.worker_job.worker_job` on the resolved config the ``sweep`` command
wrote. Exit codes: 0 when the study is full, 1 when the worker failed or stopped after
failures in a row, 2 for a bad command line.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence

from sweeper.study.worker_job import worker_job

__all__ = ["USAGE", "main"]

USAGE = "usage: python -m sweeper.commands.worker_process CONFIG.yaml INDEX"


def main(argv: Sequence[str]) -> int:
    """Runs one worker on the config file ``argv[0]`` as worker ``argv[1]``; returns the
    exit code."""
    logging.basicConfig(level=logging.INFO, format="[%(asctime)s %(levelname)s] %(message)s")
    if len(argv) != 2 or not argv[1].isdigit():
        print(USAGE, file=sys.stderr)
        return 2
    try:
        states = worker_job(argv[0], int(argv[1]))
    except (ValueError, RuntimeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    logging.getLogger(__name__).info("worker %s done: %s", argv[1], states)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
