"""Label-based oracle: linear probe and kNN on frozen features, selection comparison, statistics.

Everything here works on feature arrays and report rows (functions; no storage, no report
files); ``rankme-sweeper compare`` (:mod:`sweeper.commands.compare`) wires it to a study.
"""

from sweeper.oracle.evaluate import OracleResult, OracleSettings, choose_settings, evaluate_features
from sweeper.oracle.knn import knn_accuracies
from sweeper.oracle.probe import LinearProbe
from sweeper.oracle.selection import (
    correlations,
    pick,
    pick_direction,
    select_within,
    selection_by_axis,
    selection_by_method,
)
from sweeper.oracle.statistics import rank_correlation

__all__ = [
    "LinearProbe",
    "OracleResult",
    "OracleSettings",
    "choose_settings",
    "correlations",
    "evaluate_features",
    "knn_accuracies",
    "pick",
    "pick_direction",
    "rank_correlation",
    "select_within",
    "selection_by_axis",
    "selection_by_method",
]
