"""``python -m sweeper.commands.trial_rank TRAIN_FN``: one follower rank of a local worker.

What a local worker whose trials train on N processes (``devices`` = N) starts for ranks
1..N-1 (:class:`~sweeper.study.ranks.TrialRanks`); not a user command. The rank, world size
and rank 0's store come from Lightning's environment variables (``RANK``, ``WORLD_SIZE``,
``MASTER_PORT``) and the process group's backend from ``RANKME_RANK_BACKEND``; it trains each
trial rank 0 hands it, until rank 0 says stop or is gone. Exit codes: 0, or 2 for a bad
command line or environment.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence

from sweeper.runtime import setup_process
from sweeper.study.ranks import BACKEND_ENV, follow
from sweeper.study.train_fn import load_train_fn

__all__ = ["USAGE", "main"]

USAGE = ("usage: python -m sweeper.commands.trial_rank TRAIN_FN, with RANK, WORLD_SIZE, "
         "MASTER_PORT and RANKME_RANK_BACKEND set (a local worker starts it)")

def main(argv: Sequence[str]) -> int:
    """Follows rank 0 with the training function ``argv[0]``; returns the exit code."""
    logging.basicConfig(level=logging.INFO, format="[%(asctime)s %(levelname)s] %(message)s")
    env = os.environ
    needed = ("RANK", "WORLD_SIZE", "MASTER_PORT", BACKEND_ENV)
    if len(argv) != 1 or any(not env.get(k) for k in needed):
        print(USAGE, file=sys.stderr)
        return 2
    setup_process()
    follow(load_train_fn(argv[0]), int(env["RANK"]), int(env["WORLD_SIZE"]),
           int(env["MASTER_PORT"]), env[BACKEND_ENV], int(env.get("RANKME_FIRST_MESSAGE", "0")))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
