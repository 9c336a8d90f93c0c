"""Optuna studies driven by label-free metrics: search spaces, storage, workers, launchers.

``rankme-sweeper sweep`` creates or continues a study and runs asynchronous workers (local
processes or Slurm jobs) that train one trial each at a time, report RankMe per monitor
step for pruning and tell the final metric; ``worker`` is one such worker; ``status``
prints the trials.

Each name has one home, imported from there: the plan (:mod:`~sweeper.study.plan`), the
search space (:mod:`~sweeper.study.space`), the settings (:mod:`~sweeper.study.settings`),
the storage (:mod:`~sweeper.study.storage`), the worker loop (:mod:`~sweeper.study.worker`).
This package imports none of them: a command that needs one storage helper does not load
the whole study (and torch with it).
"""
