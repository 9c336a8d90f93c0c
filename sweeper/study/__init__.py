"""Optuna studies driven by label-free metrics: search spaces, storage, workers, launchers.

``rankme-sweeper sweep`` creates or continues a study and runs asynchronous workers (local
processes or Slurm jobs) that train one trial each at a time, report RankMe per monitor
step for pruning and tell the final metric; ``worker`` is one such worker; ``status``
prints the trials.
"""

from sweeper.study.plan import SweepPlan, make_plan, open_study
from sweeper.study.settings import DEFAULT_DIRECTIONS, SweepSettings
from sweeper.study.space import Param, parse_expression, parse_space
from sweeper.study.storage import mask_url, open_storage
from sweeper.study.worker import WorkerReport, run_worker

__all__ = [
    "DEFAULT_DIRECTIONS",
    "Param",
    "SweepPlan",
    "SweepSettings",
    "WorkerReport",
    "make_plan",
    "mask_url",
    "open_storage",
    "open_study",
    "parse_expression",
    "parse_space",
    "run_worker",
]
