"""Pruning replayed on a finished study: epochs saved, and whether the pick is the same.

A study swept without pruning records every trial's per-epoch RankMe (metrics.json's
``history``, the monitor bank). This feeds those curves, trial by trial in the study's
order, to Optuna's pruner (a fresh in-memory study, ``MedianPruner`` with
``conf/sweep.yaml``'s defaults unless told otherwise): a trial stops at the first epoch
the pruner says so. It reports the epochs the pruned study would have trained, the
RankMe pick among the trials that would have finished, and that pick's oracle accuracy
(from ``compare``'s user attrs) beside the unpruned pick's. Training is deterministic per
trial given its params, so the curves are what a live pruned sweep would see, except that
here each trial sees every earlier trial's whole curve (a live sweep with W workers sees
less of the W - 1 trials running beside it).

Usage::

    .venv/bin/python benchmarks/pruning_replay.py STORAGE_URL STUDY_NAME \
        [--n-startup-trials 3] [--n-warmup-steps 2] [--objective rankme]

Prints one JSON object as its last line.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import TrialState


def replay(trials: list[dict[str, Any]], pruner: optuna.pruners.BasePruner,
           objective: str) -> list[dict[str, Any]]:
    """Each trial's epochs trained and state under ``pruner``, in the given order."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", pruner=pruner)
    out = []
    for t in trials:
        trial = study.ask()
        ran, state = t["epochs"], "COMPLETE"
        for point in t["history"]:
            trial.report(float(point[objective]), step=int(point["epoch"]))
            if trial.should_prune():
                ran, state = int(point["epoch"]), "PRUNED"
                break
        if t["value"] is None:
            state = "DIVERGED"
        if state != "COMPLETE":
            study.tell(trial, state=TrialState.PRUNED)
        else:
            study.tell(trial, t["value"])
        out.append({**{k: t[k] for k in ("number", "value", "test_acc")}, "epochs_run": ran,
                    "state": state})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("storage")
    parser.add_argument("study")
    parser.add_argument("--n-startup-trials", type=int, default=3)
    parser.add_argument("--n-warmup-steps", type=int, default=2)
    parser.add_argument("--percentile", type=float, default=None,
                        help="a PercentilePruner at this percentile instead of the median")
    parser.add_argument("--objective", default="rankme")
    args = parser.parse_args()
    study = optuna.load_study(study_name=args.study, storage=args.storage)
    trials = []
    finished = study.get_trials(states=(TrialState.COMPLETE, TrialState.PRUNED))
    for t in sorted(finished, key=lambda t: t.number):
        m = json.loads((Path(t.user_attrs["run_dir"]) / "metrics.json").read_text())
        if m["status"] not in ("completed", "diverged"):
            raise SystemExit(f"trial {t.number} was stopped ({m['status']}): replay a study "
                             "swept without pruning")
        # a diverged run ends where it diverged, with or without a pruner
        value = t.value if m["status"] == "completed" else None
        trials.append({"number": t.number, "value": value, "epochs": m["epochs"],
                       "history": m["history"] if value is not None else [],
                       "test_acc": t.user_attrs.get("oracle_test_acc")})
    if args.percentile is None:
        pruner: optuna.pruners.BasePruner = optuna.pruners.MedianPruner(
            n_startup_trials=args.n_startup_trials, n_warmup_steps=args.n_warmup_steps)
        name = "median"
    else:
        pruner = optuna.pruners.PercentilePruner(
            args.percentile, n_startup_trials=args.n_startup_trials,
            n_warmup_steps=args.n_warmup_steps)
        name = f"percentile({args.percentile})"
    replayed = replay(trials, pruner, args.objective)
    full = sum(t["epochs"] for t in trials)
    ran = sum(t["epochs_run"] for t in replayed)

    def best(rows: list[dict[str, Any]]) -> dict[str, Any]:
        return max((r for r in rows if r["value"] is not None), key=lambda r: r["value"])

    unpruned = best(replayed)
    pruned = best([r for r in replayed if r["state"] == "COMPLETE"])
    oracle = max(replayed, key=lambda r: -1 if r["test_acc"] is None else r["test_acc"])
    print(json.dumps({
        "study": args.study, "pruner": f"{name}(n_startup_trials={args.n_startup_trials}, "
                                        f"n_warmup_steps={args.n_warmup_steps})",
        "epochs_full": full, "epochs_pruned": ran, "saved": round(1 - ran / full, 3),
        "n_pruned": sum(r["state"] == "PRUNED" for r in replayed),
        "pick_unpruned": unpruned["number"], "pick_pruned": pruned["number"],
        "same_pick": unpruned["number"] == pruned["number"],
        "pick_test_acc": pruned["test_acc"], "best_test_acc": oracle["test_acc"],
        "trials": replayed,
    }))


if __name__ == "__main__":
    main()
