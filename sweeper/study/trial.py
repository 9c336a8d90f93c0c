"""One trial: asked with its params sampled, trained in-process, RankMe reported per monitor
step, told.

The training function follows ``sweeper.ssl.train``'s contract
(:class:`~sweeper.study.train_fn.TrainFn`)::

    train(cfg, run_dir, on_monitor) -> dict   # metrics.json content, "status" included

``on_monitor(epoch, metrics)`` reports the objective to Optuna and returns ``"pruned"`` when
the pruner says so: training stops after that epoch, keeps its checkpoint and metrics.json
and returns with status "pruned". No exception class crosses from the training code.
"""

from __future__ import annotations

import math
import traceback
import warnings
from pathlib import Path
from typing import Any

import optuna
from omegaconf import OmegaConf
from optuna.storages import RetryFailedTrialCallback
from optuna.trial import FrozenTrial, TrialState

from sweeper.study.interrupt import worker_name
from sweeper.study.optuna_adapter import retry_failed_trial
from sweeper.study.plan import SweepPlan, apply_params
from sweeper.study.ranks import RankLost
from sweeper.study.seeds import enqueue_siblings
from sweeper.study.train_fn import TrainFn, resume_overrides
from sweeper.study.trial_runs import SEED_ATTR

__all__ = ["ask_trial", "run_trial"]


def ask_trial(study: optuna.Study, plan: SweepPlan) -> optuna.Trial:
    """A new trial with every search-space param sampled (``study.ask`` with the space's
    distributions); an enqueued or retried trial keeps its fixed params. Read them from
    ``trial.params``. With ``sweep.seeds`` > 1, a point's first trial enqueues its other
    seeds (:mod:`sweeper.study.seeds`)."""
    trial = study.ask(fixed_distributions={k: p.distribution for k, p in plan.space.items()})
    if plan.settings.seeds > 1:  # make_plan checked the training config's integer seed
        enqueue_siblings(study, trial, int(plan.train_cfg.seed), plan.settings.seeds)
    return trial


def _values(result: dict[str, Any], objectives: tuple[str, ...]) -> list[float]:
    missing = [name for name in objectives if name not in result]
    if missing:
        raise KeyError(f"the training result has no {missing}; it has {sorted(result)}")
    # metrics.json writes a non-finite value as null
    return [math.nan if result[name] is None else float(result[name]) for name in objectives]


def _resumed_run(trials: list[FrozenTrial], trial: optuna.Trial) -> tuple[int, Path] | None:
    """(number, run dir) of the run this trial continues, when it left a checkpoint; None
    for a first attempt or one whose earlier attempts left none.

    A trial whose Slurm job was requeued continues itself (it already holds a ``run_dir``).
    Optuna's heartbeat callback re-enqueues a trial whose worker stopped beating (a killed
    worker, or a requeued one that did not come back in time) with the same params; its
    ``retry_history`` lists the earlier attempts, the latest last.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        history = RetryFailedTrialCallback.retry_history(trials[trial.number])
    # a retry inherits its attempt's user attrs (run_dir included) and lists it in its history;
    # a requeued trial has no history and continues its own run_dir
    for number in reversed(history) if history else [trial.number]:
        raw = trials[number].user_attrs.get("run_dir")
        if raw and (Path(raw) / "checkpoints" / "last.ckpt").is_file():
            return number, Path(raw)
    return None


def run_trial(study: optuna.Study, trial: optuna.Trial, plan: SweepPlan,
              train_fn: TrainFn) -> TrialState:
    """Runs a trial from :func:`ask_trial` to its end and tells the study.

    A training error fails the trial with the error stored in the ``error`` user attr; the
    error is not re-raised (the worker goes on with its next trial).

    Returns:
        The state the trial was told.
    """
    s = plan.settings
    trials = study.get_trials(deepcopy=False)  # one read of the storage
    resumed = _resumed_run(trials, trial)
    run_dir = resumed[1] if resumed else s.dir / f"trial_{trial.number}"
    if resumed and resumed[0] != trial.number:  # a retry: continue the dead attempt's run
        trial.set_user_attr("resumed_from_trial", resumed[0])
    trial.set_user_attr("run_dir", str(run_dir))
    trial.set_user_attr("worker", worker_name())
    prunable = not s.multi_objective and s.pruner.get("name") != "none"
    objective = s.objectives[0]

    # a trial continued after a requeue has reported its first epochs already
    reported = set(trials[trial.number].intermediate_values)
    last_epoch: int | None = None  # the config's max_epochs, once the params are applied

    def on_monitor(epoch: int, metrics: dict[str, float]) -> str | None:
        value = metrics.get(objective)
        if (value is None or not math.isfinite(float(value)) or s.multi_objective
                or int(epoch) in reported):
            return None
        trial.report(float(value), step=int(epoch))
        # A trial that trained all its epochs completes: pruning it now would save nothing
        # and throw its cost away.
        if last_epoch is not None and int(epoch) >= last_epoch:
            return None
        return "pruned" if prunable and trial.should_prune() else None

    try:
        seed = trials[trial.number].user_attrs.get(SEED_ATTR)  # with sweep.seeds > 1
        cfg = apply_params(plan.train_cfg,
                           {**trial.params, **({} if seed is None else {"seed": seed})})
        last_epoch = int(cfg.max_epochs) if cfg.get("max_epochs") is not None else None
        if "tracking" in cfg:  # loggers file every trial under the study's name
            OmegaConf.update(cfg, "tracking.experiment", s.study_name)
        if resumed:
            # from the dead attempt's last.ckpt, however old; the per-epoch values it had
            # reached are reported to this trial again before training goes on
            for key, value in resume_overrides(train_fn).items():
                OmegaConf.update(cfg, key, value)
        result = train_fn(cfg, run_dir, on_monitor)
        status = str(result.get("status", "completed"))
        trial.set_user_attr("train_status", status)
        # A diverged run (non-finite loss) is a legitimate, bad outcome of its params, not an
        # error: told PRUNED like a stopped run, it counts as finished and the sampler ranks
        # it below every completed trial.
        if status in ("pruned", "diverged"):
            study.tell(trial, state=TrialState.PRUNED)
            return TrialState.PRUNED
        values = _values(result, s.objectives)
    except optuna.TrialPruned:  # a training function written for Optuna's own signal
        trial.set_user_attr("train_status", "pruned")
        study.tell(trial, state=TrialState.PRUNED)
        return TrialState.PRUNED
    except Exception as err:  # the trial fails; the worker lives on
        trial.set_user_attr("error", f"{type(err).__name__}: {err}")
        trial.set_user_attr("traceback", traceback.format_exc(limit=8)[-4000:])
        study.tell(trial, state=TrialState.FAIL)
        if isinstance(err, RankLost):  # not the params' fault: retried, as a dead worker's
            retry_failed_trial(study, trial.number)
            if not err.worker_goes_on:
                raise
        return TrialState.FAIL
    if not all(math.isfinite(v) for v in values):
        trial.set_user_attr("error", f"non-finite objective {values} (status {status})")
        study.tell(trial, state=TrialState.FAIL)
        return TrialState.FAIL
    study.tell(trial, values if s.multi_objective else values[0])
    return TrialState.COMPLETE
