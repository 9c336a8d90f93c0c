"""``bench_sweep.py --sections crowd``: many workers (64 by default) on one study.

Each worker runs ``bench_sweep.noop`` (no training) through the real worker loop
(:func:`sweeper.study.worker.run_worker`), on SQLite, PostgreSQL, and PostgreSQL behind the
storage proxy (``sweep.storage_proxy``). Measured per storage:

- per-trial overhead: the study's wall ms per trial (first start to last end / trials) and
  what one worker spends per trial (that x workers / trials), beside the median and p95 time
  a trial is open (ask to tell);
- errors: lines of the workers' logs naming "database is locked", ``OperationalError``,
  connection failures, gRPC ``UNAVAILABLE`` or a traceback; FAIL trials; worker exit codes;
- database connections: the peak of ``pg_stat_activity`` rows on the test database, all and
  those named ``rankme-sweeper*`` (this project's storages; the proxy's are ``-proxy``) (this
  script's own poll excluded; the baseline before the run is reported beside it);
- memory: the peak of used system memory above the baseline before the run.

Workers are forked from a fork server that imported the worker's modules once: 64 spawned
interpreters that each import torch (which ``sweeper.study`` pulls in) take ~320 MB of
private memory each, ~20 GB together; forked ones share those pages.
"""

from __future__ import annotations

import json
import logging
import multiprocessing as mp
import os
import re
import statistics
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path
from typing import Any

import optuna
import sqlalchemy
from bench_trials import noop
from optuna.trial import TrialState

from sweeper.study.optuna_adapter import rdb_engine
from sweeper.study.plan import SweepPlan, open_study
from sweeper.study.proxy_server import start_proxy
from sweeper.study.storage import open_storage
from sweeper.study.worker import run_worker

ERROR_PATTERNS = {
    "database_is_locked": re.compile(r"database is locked"),
    "operational_error": re.compile(r"OperationalError"),
    "connection_error": re.compile(r"too many clients|connection (refused|reset|failed)|"
                                   r"could not connect|server closed the connection", re.I),
    "grpc_unavailable": re.compile(r"StatusCode\.UNAVAILABLE|failed to connect", re.I),
    "traceback": re.compile(r"^Traceback"),
}


def _crowd_worker(plan: SweepPlan, index: int, log_path: str) -> None:
    """One worker, its stdout and stderr in ``log_path``."""
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, force=True)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        run_worker(plan, noop, index)
    except BaseException:
        traceback.print_exc()
        sys.stderr.flush()
        os._exit(1)


def _used_memory_gb() -> float:
    info = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines())
    total, available = (int(info[k].split()[0]) for k in ("MemTotal", "MemAvailable"))
    return (total - available) / 2**20


class _Peaks:
    """Polls PostgreSQL's connections to ``db`` (when given) and used memory in a thread."""

    def __init__(self, pg_url: str | None, db: str) -> None:
        self._engine = sqlalchemy.create_engine(pg_url) if pg_url else None
        # every connection to the database, and those of this project's storages
        self._query = sqlalchemy.text(
            "SELECT count(*), count(*) FILTER (WHERE application_name LIKE 'rankme-sweeper%') "
            "FROM pg_stat_activity WHERE datname = :db AND pid <> pg_backend_pid()")
        self._db, self._stop = db, threading.Event()
        self.ours_peak = 0
        self.connections_before = self.connections_peak = self._connections()
        self.memory_before = self.memory_peak = _used_memory_gb()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _connections(self) -> int:
        if self._engine is None:
            return 0
        with self._engine.connect() as conn:
            every, ours = conn.execute(self._query, {"db": self._db}).one()
        self.ours_peak = max(self.ours_peak, int(ours))
        return int(every)

    def _poll(self) -> None:
        while not self._stop.wait(0.2):
            self.connections_peak = max(self.connections_peak, self._connections())
            self.memory_peak = max(self.memory_peak, _used_memory_gb())

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        if self._engine is not None:
            self._engine.dispose()


def _errors(log_dir: Path) -> tuple[dict[str, int], str]:
    """Error lines by kind in the workers' logs, and the first one that is not a traceback's
    first line (what the error was)."""
    counts, first = dict.fromkeys(ERROR_PATTERNS, 0), ""
    for path in sorted(log_dir.glob("worker_*.log")):
        for line in path.read_text(errors="replace").splitlines():
            for name, pattern in ERROR_PATTERNS.items():
                hit = bool(pattern.search(line))
                counts[name] += hit
                if hit and name != "traceback" and not first:
                    first = line.strip()[:300]
    return counts, first


def _run_crowd(plan: SweepPlan, log_dir: Path, pg_url: str | None) -> dict[str, Any]:
    s = plan.settings
    storage = open_storage(s.storage)
    study = open_study(plan, create=True, storage=storage)
    if isinstance(storage, optuna.storages.RDBStorage):
        rdb_engine(storage).dispose()  # this process holds no connection while workers run
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(["sweeper.study.worker", "sweeper.study.storage.proxy", "optuna"])
    procs = [ctx.Process(target=_crowd_worker, args=(plan, i, str(log_dir / f"worker_{i}.log")))
             for i in range(s.workers)]
    peaks = _Peaks(pg_url, "test")
    start = time.perf_counter()
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    wall = time.perf_counter() - start
    peaks.stop()
    trials = study.get_trials(deepcopy=False)
    done = [t for t in trials if t.state == TrialState.COMPLETE]
    first = min(t.datetime_start for t in done if t.datetime_start)
    last = max(t.datetime_complete for t in done if t.datetime_complete)
    span = (last - first).total_seconds()
    open_ms = sorted(1000 * (t.datetime_complete - t.datetime_start).total_seconds()
                     for t in done if t.datetime_start and t.datetime_complete)
    errors, first_error = _errors(log_dir)
    return {
        "workers": s.workers, "trials": len(done),
        "fail_trials": sum(t.state == TrialState.FAIL for t in trials),
        "ms_per_trial": round(1000 * span / len(done), 2),
        "ms_per_trial_per_worker": round(1000 * span * s.workers / len(done), 1),
        "trial_open_ms_median": round(statistics.median(open_ms), 1),
        "trial_open_ms_p95": round(open_ms[int(0.95 * (len(open_ms) - 1))], 1),
        "errors": errors, "error_lines": sum(errors.values()), "first_error": first_error,
        "worker_exit_codes_nonzero": sum(1 for p in procs if p.exitcode),
        "pg_connections_peak": peaks.connections_peak if pg_url else None,
        "pg_connections_before": peaks.connections_before if pg_url else None,
        "pg_connections_peak_rankme_sweeper": peaks.ours_peak if pg_url else None,
        "memory_gb_peak_above_before": round(peaks.memory_peak - peaks.memory_before, 2),
        "wall_s_with_process_start": round(wall, 1),
    }


def crowd(trials: int, workers: int, storages: list[str], postgres_url: str,
          make_plan: Any, max_connections: int = 8) -> list[dict[str, Any]]:
    """The crowd figures per storage (``sqlite``, ``postgresql``, ``proxy``).

    ``make_plan(folder, url, n_trials, workers)`` builds the benchmark's plan.
    """
    rows = []
    for backend in storages:
        if backend not in ("sqlite", "postgresql", "proxy"):
            raise ValueError(f"--crowd-storages: unknown {backend!r}; "
                             "choose from sqlite, postgresql, proxy")
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            if backend == "sqlite":
                plan = make_plan(folder, f"sqlite:///{folder}/study.db", trials, workers)
                row = _run_crowd(plan, folder, None)
            elif backend == "postgresql":
                plan = make_plan(folder, postgres_url, trials, workers)
                row = _run_crowd(plan, folder, postgres_url)
            else:
                plan = make_plan(folder, postgres_url, trials, workers)
                with start_proxy(postgres_url, host="127.0.0.1", port=0, heartbeat_s=20,
                                 max_retries=plan.settings.storage.max_retries,
                                 max_connections=max_connections, threads=2 * workers + 8,
                                 log_path=folder / "proxy.log") as proxy:
                    plan = make_plan(folder, proxy.url, trials, workers, plan.settings.study_name)
                    row = _run_crowd(plan, folder, postgres_url)
                row["proxy_max_connections"] = max_connections
            try:
                optuna.delete_study(study_name=plan.settings.study_name, storage=(
                    postgres_url if backend != "sqlite" else f"sqlite:///{folder}/study.db"))
            except KeyError:
                pass
        rows.append({"storage": backend, **row})
        print(json.dumps(rows[-1]), flush=True)
    return rows
