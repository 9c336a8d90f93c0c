"""One trial's life without a real training: asked with its params, stopped through the
on_monitor contract, told; and the slot counts the worker decides by."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import optuna
import pytest
from optuna.pruners import BasePruner
from optuna.trial import TrialState, create_trial

from sweeper.config import compose_config
from sweeper.study.plan import SweepPlan, make_plan
from sweeper.study.slots import TrialCounts, count_trials
from sweeper.study.trial import ask_trial, run_trial


class Always(BasePruner):
    def prune(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> bool:
        return True


@pytest.fixture
def plan(tmp_path: Path) -> SweepPlan:
    cfg = compose_config(["sweep.sampler.name=random", "sweep.sampler.seed=0"],
                         config_name="sweep")
    return make_plan(cfg, base=tmp_path)


def _epochs(n: int, status_on_stop: str = "pruned") -> Any:
    """A training function that keeps the contract: it stops when on_monitor says so."""

    def train(cfg: Any, run_dir: Path, on_monitor: Any = None) -> dict[str, Any]:
        for epoch in range(1, n + 1):
            status = on_monitor(epoch, {"rankme": 10.0 + epoch}) if on_monitor else None
            if status is not None:
                return {"status": status, "rankme": 10.0 + epoch, "epochs": epoch}
        return {"status": "completed", "rankme": float(cfg.optimizer.lr), "epochs": n}

    return train


def test_ask_trial_samples_every_space_param_and_keeps_enqueued_ones(plan):
    study = optuna.create_study(direction="maximize")
    study.enqueue_trial({"optimizer.lr": 0.5})
    fixed = ask_trial(study, plan)
    assert fixed.params["optimizer.lr"] == 0.5 and set(fixed.params) == set(plan.space)
    sampled = ask_trial(study, plan)
    for key, param in plan.space.items():
        assert param.distribution._contains(param.distribution.to_internal_repr(
            sampled.params[key]))


def test_a_trial_runs_to_the_end_and_is_told_its_objective(plan):
    study = optuna.create_study(direction="maximize")
    trial = ask_trial(study, plan)
    assert run_trial(study, trial, plan, _epochs(3)) == TrialState.COMPLETE
    (done,) = study.trials
    assert done.value == trial.params["optimizer.lr"]  # the params reached the config
    assert sorted(done.intermediate_values) == [1, 2, 3]
    assert done.user_attrs["train_status"] == "completed"


def test_the_pruner_stops_training_through_the_returned_status(plan):
    study = optuna.create_study(direction="maximize", pruner=Always())
    assert run_trial(study, ask_trial(study, plan), plan, _epochs(5)) == TrialState.PRUNED
    (pruned,) = study.trials
    assert list(pruned.intermediate_values) == [1]  # stopped after the first report
    assert pruned.user_attrs["train_status"] == "pruned"


def test_optunas_own_prune_signal_and_errors(plan):
    study = optuna.create_study(direction="maximize")

    def raises_pruned(cfg: Any, run_dir: Path, on_monitor: Any = None) -> dict[str, Any]:
        raise optuna.TrialPruned()

    def broken(cfg: Any, run_dir: Path, on_monitor: Any = None) -> dict[str, Any]:
        raise RuntimeError("no GPU")

    assert run_trial(study, ask_trial(study, plan), plan, raises_pruned) == TrialState.PRUNED
    assert run_trial(study, ask_trial(study, plan), plan, broken) == TrialState.FAIL
    assert study.trials[1].user_attrs["error"] == "RuntimeError: no GPU"


def test_count_trials_counts_every_state():
    study = optuna.create_study()
    for state in (TrialState.COMPLETE, TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL):
        study.add_trial(create_trial(state=state, value=1.0 if state == TrialState.COMPLETE
                                     else None))
    study.ask()
    study.enqueue_trial({})
    assert count_trials(study) == TrialCounts(complete=2, pruned=1, running=1, waiting=1,
                                              fail=1)
    assert count_trials(study).finished == 3


class PruneFrom(BasePruner):
    """Prunes every trial once it reported step ``step``."""

    def __init__(self, step: int) -> None:
        self.step = step

    def prune(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> bool:
        return (trial.last_step or 0) >= self.step


def test_the_pruner_is_not_asked_at_the_last_epoch(tmp_path):
    cfg = compose_config(["sweep.sampler.name=random", "sweep.sampler.seed=0", "max_epochs=3"],
                         config_name="sweep")
    plan = make_plan(cfg, base=tmp_path)
    study = optuna.create_study(direction="maximize", pruner=PruneFrom(3))
    # it trained all its epochs: it completes with its objective, its cost not thrown away
    assert run_trial(study, ask_trial(study, plan), plan, _epochs(3)) == TrialState.COMPLETE
    assert sorted(study.trials[0].intermediate_values) == [1, 2, 3]
    study = optuna.create_study(direction="maximize", pruner=PruneFrom(2))
    assert run_trial(study, ask_trial(study, plan), plan, _epochs(3)) == TrialState.PRUNED
