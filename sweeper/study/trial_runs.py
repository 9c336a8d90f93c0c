"""An existing study's trials, read with their run dirs (what ``compare`` evaluates).

A usable trial is COMPLETE or PRUNED, has the user attr ``run_dir``, and that folder holds a
``metrics.json`` with a finite ``rankme`` and a checkpoint. Every other trial is listed as
skipped, with the reason, so a report says what it left out.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna
from optuna.storages import RetryHeartbeatStaleTrialCallback
from optuna.trial import FrozenTrial, TrialState

from sweeper.metrics.run_record import METRICS_FILE, RunRecord
from sweeper.study.storage import StorageSettings, StudyStorage, open_storage

__all__ = ["SEED_ATTR", "TrialRun", "load_existing_study", "load_trial_runs", "retry_of",
           "shown_params", "study_folder", "trial_seed"]

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
CHECKPOINT_NAMES = ("last.ckpt",)
STOPPED = ("diverged", "pruned")  # training statuses of a run stopped early
SEED_ATTR = "seed"  # a trial's training seed, in a study with sweep.seeds > 1 (study/seeds.py)


@dataclass
class TrialRun:
    """One trial of the study as the oracle sees it."""

    number: int
    state: str
    params: dict[str, Any]
    run_dir: Path | None
    metrics: RunRecord = field(default_factory=RunRecord)
    checkpoint: Path | None = None
    skipped: str | None = None  # why it cannot be evaluated; None when usable
    stopped: str | None = None  # "diverged"/"pruned": stopped before it could be probed
    retry_of: int | None = None  # the attempt this trial retried (its run dir is reused)
    seed: int | None = None  # the training seed, with sweep.seeds > 1 (sweeper.study.trial)

    @property
    def method(self) -> str:
        """The SSL method, from metrics.json (``unknown`` when absent)."""
        return str(self.metrics.method or "unknown")


def retry_of(trial: FrozenTrial) -> int | None:
    """The number of the trial this one retries (the latest earlier attempt; a retry
    continues its run dir), None for a first attempt."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        history = RetryHeartbeatStaleTrialCallback.retry_history(trial)
    return int(history[-1]) if history else None


def shown_params(trial: FrozenTrial) -> dict[str, Any]:
    """A trial's params; for one still WAITING, the params it was enqueued with."""
    if trial.params or trial.state != TrialState.WAITING:
        return dict(trial.params)
    return dict(trial.system_attrs.get("fixed_params") or {})


def trial_seed(trial: FrozenTrial) -> int | None:
    """The trial's training seed, or None in a study without seeds (``sweep.seeds`` 1)."""
    value = trial.user_attrs.get(SEED_ATTR)
    return None if value is None else int(value)


def _checkpoint(run_dir: Path) -> Path | None:
    folder = run_dir / "checkpoints"
    for name in CHECKPOINT_NAMES:
        if (folder / name).is_file():
            return folder / name
    found = sorted(folder.glob("*.ckpt"), key=lambda p: p.stat().st_mtime) if folder.is_dir() \
        else []
    return found[-1] if found else None


def _read(trial: optuna.trial.FrozenTrial, base: Path) -> TrialRun:
    raw = trial.user_attrs.get("run_dir")
    run_dir = None if raw is None else (Path(raw) if Path(raw).is_absolute() else base / raw)
    run = TrialRun(number=trial.number, state=trial.state.name, params=dict(trial.params),
                   run_dir=run_dir, retry_of=retry_of(trial), seed=trial_seed(trial))
    if trial.state not in FINISHED:
        error = trial.user_attrs.get("error")
        run.skipped = f"state {trial.state.name}" + (f": {error}" if error else "")
        return run
    if run_dir is None:
        run.skipped = "no run_dir user attr"
        return run
    path = run_dir / METRICS_FILE
    try:
        run.metrics = RunRecord.read(run_dir)
    except (OSError, ValueError) as err:  # a json.JSONDecodeError is a ValueError
        run.skipped = f"unreadable {path}: {type(err).__name__}"
        return run
    status = str(run.metrics.status or "")
    rankme = run.metrics.values.get("rankme")
    usable_rankme = isinstance(rankme, int | float) and math.isfinite(rankme)
    if "fail" in status or "error" in status:
        run.skipped = f"training status {status!r}"
    elif status in STOPPED and (not usable_rankme or _checkpoint(run_dir) is None):
        run.stopped = status
        where = run.metrics.diverged
        how = (f" ({where.what} in epoch {where.epoch}, step {where.step})" if where else "")
        run.skipped = f"{status}{how} before any checkpoint: no features to probe"
    elif not usable_rankme:
        run.skipped = f"no finite rankme in {path} (got {rankme!r})"
    elif (ckpt := _checkpoint(run_dir)) is None:
        run.skipped = f"no checkpoint under {run_dir / 'checkpoints'}"
    else:
        run.checkpoint = ckpt
    return run


def load_trial_runs(study: optuna.Study, base: Path | None = None) -> list[TrialRun]:
    """Every trial of ``study``, usable or with the reason it is skipped, by number.

    Args:
        study: the loaded study.
        base: folder a relative ``run_dir`` is resolved against (default: the cwd, where
            the workers ran).
    """
    root = Path.cwd() if base is None else base
    return [_read(t, root) for t in sorted(study.get_trials(deepcopy=False),
                                           key=lambda t: t.number)]


def study_folder(runs: list[TrialRun]) -> Path:
    """The folder holding the trials' run dirs (their most common parent).

    Raises:
        ValueError: when no trial records a run dir.
    """
    parents = [r.run_dir.resolve().parent for r in runs if r.run_dir is not None]
    if not parents:
        raise ValueError("no trial of the study records a run_dir user attr; cannot find the "
                         "study folder")
    return max(set(parents), key=parents.count)


def load_existing_study(storage: StorageSettings,
                        study_name: str) -> tuple[optuna.Study, StudyStorage]:
    """Opens an existing study and its storage (never creates either).

    Args:
        storage: the checked ``sweep.storage`` settings.
        study_name: ``sweep.study_name``.

    Raises:
        ValueError: for a missing SQLite file, an unknown study name (listing those there)
            or an unreachable storage.
    """
    path = storage.database_file
    if path is not None and not path.is_file():
        raise ValueError(f"no study database at {path} (sweep.storage={storage.masked}); "
                         "run `rankme-sweeper sweep` first or pass sweep.storage=...")
    opened = open_storage(storage)
    names = optuna.get_all_study_names(opened)
    if study_name not in names:
        raise ValueError(f"no study named {study_name!r} in {storage.masked}; it holds: "
                         f"{', '.join(names) or 'no study'}")
    return optuna.load_study(study_name=study_name, storage=opened), opened
