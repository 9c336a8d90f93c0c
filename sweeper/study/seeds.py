"""Seeds: every point of a study trained k times (``sweep.seeds``), one trial per seed.

A point is one setting of the search-space params. With k > 1 seeds, each point is trained
with the seeds ``seed, seed + 1, ..., seed + k - 1`` (``seed`` is the training config's),
each in its own trial; the trial's seed is its ``seed`` user attr
(:func:`~sweeper.study.trial_runs.trial_seed`), and its ``params`` hold
the point alone, so ``compare`` groups the trials of a point by their params.

One design serves every sampler: the first trial of a point (sampled, or enqueued from
``sweep.enqueue``) runs the first seed, and its k - 1 siblings are enqueued with the same
params and the next seeds (:func:`enqueue_siblings`); Optuna's ``ask`` hands out enqueued
trials before sampling, so a point's seeds run next. The seed is not a search-space param: a
sampler would model it as a hyperparameter (TPE would learn which seed scores best) and
would not train each point k times; a grid sampler also sees the points alone, so the grid
size stays the number of points. ``sweep.n_trials`` counts trials (points x seeds) and must
be a multiple of ``sweep.seeds``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import optuna

from sweeper.study.trial_runs import SEED_ATTR, shown_params, trial_seed

__all__ = ["enqueue_point", "enqueue_siblings"]


def enqueue_siblings(study: optuna.Study, trial: optuna.Trial, base: int, seeds: int) -> None:
    """Marks a just-asked trial as its point's first seed, ``base``, and enqueues the
    point's other seeds; a trial that already has a seed (an enqueued sibling, a retry)
    is left as it is."""
    if seeds < 2 or SEED_ATTR in trial.user_attrs:
        return
    trial.set_user_attr(SEED_ATTR, base)
    for i in range(1, seeds):
        study.enqueue_trial(dict(trial.params), user_attrs={SEED_ATTR: base + i})


def enqueue_point(study: optuna.Study, params: Mapping[str, Any], base: int,
                  seeds: int) -> None:
    """Enqueues a point of ``sweep.enqueue`` once per seed, leaving out each seed the study
    already holds for it (re-running ``sweep`` continues a study); without seeds
    (``seeds == 1``), Optuna's ``skip_if_exists``."""
    if seeds < 2:
        study.enqueue_trial(dict(params), skip_if_exists=True)
        return
    held = {trial_seed(t) for t in study.get_trials(deepcopy=False)
            if shown_params(t) == dict(params)}
    for seed in range(base, base + seeds):
        if seed not in held:
            study.enqueue_trial(dict(params), user_attrs={SEED_ATTR: seed})
