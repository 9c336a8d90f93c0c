"""``python -m sweeper.commands.storage_proxy HOST PORT HEARTBEAT_S MAX_RETRIES
MAX_CONNECTIONS THREADS``: the storage proxy process.

What :func:`~sweeper.study.proxy_server.start_proxy` starts in front of the study's database:
it runs :func:`~sweeper.study.proxy_server.serve` until SIGTERM or SIGINT, or until the
process that started it is gone. The database URL comes in the environment
(:data:`~sweeper.study.proxy_server.PROXY_STORAGE_ENV`), never on the command line, where
every user of the machine could read its password. Exit codes: 0 when stopped, 2 for bad
input (its ``error:`` line is what ``start_proxy`` reports).
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence

from sweeper.study.proxy_server import PROXY_STORAGE_ENV, serve
from sweeper.study.storage import mask_secrets

__all__ = ["USAGE", "main"]

USAGE = ("usage: python -m sweeper.commands.storage_proxy HOST PORT HEARTBEAT_S MAX_RETRIES "
         f"MAX_CONNECTIONS THREADS (the database URL in {PROXY_STORAGE_ENV})")


def _watch_parent(stop: threading.Event) -> None:
    """Sets ``stop`` when the process that started this one is gone (killed, not stopped):
    an orphaned proxy would hold its port and connections for ever."""
    parent = os.getppid()
    while not stop.wait(1.0):
        if os.getppid() != parent:
            stop.set()


def main(argv: Sequence[str]) -> int:
    """Serves the database in :data:`PROXY_STORAGE_ENV` until stopped; returns the exit
    code."""
    if len(argv) != 6 or not all(a.isdigit() for a in argv[1:]):
        print(USAGE, file=sys.stderr)
        return 2
    host = argv[0]
    port, heartbeat_s, max_retries, max_connections, threads = (int(a) for a in argv[1:])
    logging.basicConfig(level=logging.INFO, format="[%(asctime)s %(levelname)s] %(message)s")
    url = os.environ.get(PROXY_STORAGE_ENV, "")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    threading.Thread(target=_watch_parent, args=(stop,), daemon=True).start()
    try:
        serve(url, host, port, heartbeat_s=heartbeat_s, max_retries=max_retries,
              max_connections=max_connections, threads=threads, stop=stop)
    except ValueError as err:
        print(f"error: {mask_secrets(str(err), url)}", file=sys.stderr, flush=True)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
