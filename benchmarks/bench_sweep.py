"""Sweep engine figures: orchestration overhead, worker utilization, compute saved by pruning.

Prints one JSON object as its last line. Default sizes fit ~10 minutes on 2 CPU cores:

    .venv/bin/python benchmarks/bench_sweep.py
    .venv/bin/python benchmarks/bench_sweep.py --trials 200 --util-trials 60 --skip-pruning

1. Overhead: a trial that does no training, 1 and 4 worker processes, SQLite and PostgreSQL,
   ``--trials`` trials each (random sampler, so that the figure is the engine's: ask, slot
   lock, stale-trial check, heartbeats, tell, storage). Reported: wall ms per trial (the
   study's throughput) and ms per trial within one worker (wall x workers / trials).
2. Utilization: trials that sleep 0.2-2.0 s (length drawn by the sampler), ``--util-workers``
   workers: busy / (workers x makespan), beside the batch-synchronous schedule that
   hydra-optuna-sweeper would run for the same lengths in the same order (each batch of
   ``workers`` trials waits for its slowest).
3. Pruning: the same grid of SimCLR-on-digits configs swept with pruner none and median
   (``rankme-sweeper sweep``, real training): epochs and seconds spent, and whether the best
   trial is the same.
4. Crowd (``--sections crowd``): 64 workers on SQLite, PostgreSQL and PostgreSQL behind the
   storage proxy; overhead, errors, database connections, memory (``sweep_crowd.py``):

       .venv/bin/python benchmarks/bench_sweep.py --sections crowd
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import bench_trials
import optuna
from bench_trials import MAX_S, MIN_S
from omegaconf import OmegaConf
from optuna.trial import TrialState
from sweep_crowd import crowd

from sweeper.config import compose_config
from sweeper.study.plan import SweepPlan, make_plan, open_study
from sweeper.study.storage import open_storage
from sweeper.study.worker import run_worker

REPO = Path(__file__).resolve().parent.parent
POSTGRES_URL = os.environ.get("RANKME_TEST_POSTGRES_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _plan(folder: Path, storage: str, n_trials: int, workers: int,
          name: str | None = None) -> SweepPlan:
    cfg = compose_config([f"sweep.storage={storage}", f"sweep.dir={folder}",
                          f"sweep.study_name={name or 'bench-' + uuid.uuid4().hex[:8]}",
                          f"sweep.n_trials={n_trials}", f"sweep.workers={workers}",
                          "sweep.sampler.name=random", "sweep.sampler.seed=0",
                          "sweep.pruner.name=none", "sweep.heartbeat_s=20"], config_name="sweep")
    OmegaConf.set_struct(cfg, False)
    cfg.space.params = {"optimizer.lr": "interval(0.0, 1.0)"}
    OmegaConf.set_struct(cfg, True)
    return make_plan(cfg, base=folder)


def _worker(plan: SweepPlan, fn_name: str, index: int) -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    run_worker(plan, getattr(bench_trials, fn_name), index)


def _run(plan: SweepPlan, fn_name: str) -> tuple[float, optuna.Study]:
    study = open_study(plan, create=True, storage=open_storage(plan.settings.storage))
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_worker, args=(plan, fn_name, i))
             for i in range(plan.settings.workers)]
    start = time.perf_counter()
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    wall = time.perf_counter() - start
    if any(p.exitcode for p in procs):
        raise RuntimeError(f"a worker failed: {[p.exitcode for p in procs]}")
    return wall, study


def overhead(trials: int, workers_list: list[int], storages: list[str]) -> list[dict[str, Any]]:
    rows = []
    for backend in storages:
        for workers in workers_list:
            with tempfile.TemporaryDirectory() as tmp:
                url = f"sqlite:///{tmp}/study.db" if backend == "sqlite" else POSTGRES_URL
                plan = _plan(Path(tmp), url, trials, workers)
                wall, study = _run(plan, "noop")
                trials_done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
                first = min(t.datetime_start for t in trials_done if t.datetime_start)
                last = max(t.datetime_complete for t in trials_done if t.datetime_complete)
                span = (last - first).total_seconds()
                rows.append({"storage": backend, "workers": workers, "trials": len(trials_done),
                             "ms_per_trial": round(1000 * span / len(trials_done), 2),
                             "ms_per_trial_per_worker": round(
                                 1000 * span * workers / len(trials_done), 2),
                             "wall_s_with_process_start": round(wall, 2)})
                print(json.dumps(rows[-1]), flush=True)
                if backend == "postgresql":
                    optuna.delete_study(study_name=plan.settings.study_name, storage=url)
    return rows


def batch_synchronous_makespan(lengths: list[float], workers: int) -> float:
    """hydra-optuna-sweeper's schedule: batches of ``workers`` trials, each batch as long as
    its slowest trial."""
    return sum(max(lengths[i:i + workers]) for i in range(0, len(lengths), workers))


def utilization(trials: int, workers: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        plan = _plan(Path(tmp), f"sqlite:///{tmp}/study.db", trials, workers)
        _, study = _run(plan, "sleep")
        done = sorted(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)),
                      key=lambda t: t.number)
        busy = [(t.datetime_complete - t.datetime_start).total_seconds() for t in done
                if t.datetime_start and t.datetime_complete]
        first = min(t.datetime_start for t in done if t.datetime_start)
        last = max(t.datetime_complete for t in done if t.datetime_complete)
        makespan = (last - first).total_seconds()
        sync = batch_synchronous_makespan(busy, workers)
        return {"trials": len(done), "workers": workers, "trial_s": [MIN_S, MAX_S],
                "busy_s": round(sum(busy), 2), "makespan_s": round(makespan, 2),
                "utilization": round(sum(busy) / (workers * makespan), 4),
                "batch_sync_makespan_s": round(sync, 2),
                "batch_sync_utilization": round(sum(busy) / (workers * sync), 4)}


def _sweep(folder: Path, name: str, pruner: str, epochs: int) -> optuna.Study:
    space = folder / "conf" / "space"
    space.mkdir(parents=True, exist_ok=True)
    (space / "bench_grid.yaml").write_text(
        "params:\n  optimizer.lr: choice(0.05, 0.3, 1.0, 50.0)\n"
        "  method_kwargs.temperature: choice(0.1, 0.5)\n")
    url = f"sqlite:///{folder}/study.db"
    cmd = [sys.executable, "-m", "sweeper.cli", "sweep", f"--config-dir={folder / 'conf'}",
           "space=bench_grid", f"sweep.storage={url}", f"sweep.study_name={name}",
           "sweep.n_trials=8", "sweep.workers=1", "sweep.sampler.name=grid",
           "sweep.sampler.seed=0", f"sweep.pruner.name={pruner}",
           "sweep.pruner.n_startup_trials=2", "sweep.pruner.n_warmup_steps=0",
           f"max_epochs={epochs}", "launcher.refresh_s=0"]
    done = subprocess.run(cmd, cwd=folder, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"sweep {name} failed: {done.stderr[-2000:]}")
    return optuna.load_study(study_name=name, storage=url)


def pruning(epochs: int) -> dict[str, Any]:
    out: dict[str, Any] = {"configs": 8, "max_epochs": epochs, "method": "simclr",
                           "data": "digits"}
    best = {}
    with tempfile.TemporaryDirectory() as tmp:
        for pruner in ("none", "median"):
            study = _sweep(Path(tmp) / pruner, f"prune-{pruner}", pruner, epochs)
            trials = study.get_trials(deepcopy=False)
            out[pruner] = {
                "epochs": sum(len(t.intermediate_values) for t in trials),
                "trial_s": round(sum(t.duration.total_seconds() for t in trials
                                     if t.duration), 1),
                "pruned": sum(t.state == TrialState.PRUNED for t in trials),
                "best_params": study.best_trial.params,
                "best_rankme": round(study.best_value, 3),
            }
            best[pruner] = study.best_trial.params
    out["epochs_saved"] = round(1 - out["median"]["epochs"] / out["none"]["epochs"], 3)
    out["seconds_saved"] = round(1 - out["median"]["trial_s"] / out["none"]["trial_s"], 3)
    out["same_best"] = best["none"] == best["median"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--workers", default="1,4")
    parser.add_argument("--storages", default="sqlite,postgresql")
    parser.add_argument("--util-trials", type=int, default=120)
    parser.add_argument("--util-workers", type=int, default=4)
    parser.add_argument("--prune-epochs", type=int, default=3)
    parser.add_argument("--skip-pruning", action="store_true")
    parser.add_argument("--sections", default="overhead,utilization,pruning",
                        help="comma-separated: overhead, utilization, pruning, crowd")
    parser.add_argument("--crowd-workers", type=int, default=64)
    parser.add_argument("--crowd-trials", type=int, default=640)
    parser.add_argument("--crowd-storages", default="sqlite,postgresql,proxy")
    parser.add_argument("--proxy-connections", type=int, default=8)
    args = parser.parse_args()
    sections = set(args.sections.split(","))
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    result: dict[str, Any] = {
        "machine": f"{platform.node()} {os.cpu_count()} cpus {platform.processor() or ''}".strip(),
        "optuna": optuna.__version__,
    }
    if "overhead" in sections:
        result["overhead"] = overhead(args.trials, [int(w) for w in args.workers.split(",")],
                                      args.storages.split(","))
    if "utilization" in sections:
        result["utilization"] = utilization(args.util_trials, args.util_workers)
        print(json.dumps(result["utilization"]), flush=True)
    if "pruning" in sections and not args.skip_pruning:
        result["pruning"] = pruning(args.prune_epochs)
    if "crowd" in sections:
        result["crowd"] = crowd(args.crowd_trials, args.crowd_workers,
                                args.crowd_storages.split(","), POSTGRES_URL, _plan,
                                args.proxy_connections)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
