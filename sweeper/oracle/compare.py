"""The oracle of a study's trials and the content of its report, as functions on rows.

For each usable trial and each downstream dataset: cached frozen features, a linear probe
and a kNN whose settings are chosen on a validation split carved from train, accuracy on
the held-out split (:func:`evaluate_trial`). Each trial becomes a row
(:func:`trial_row`), the oracle's results become user attrs (:func:`oracle_attrs`), and the
rows become ``report.json``'s content (:func:`build_report_data`). Reading the study and
writing the report is ``rankme-sweeper compare``'s part (:mod:`sweeper.commands.compare`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from omegaconf import DictConfig, OmegaConf

from sweeper.metrics.registry import SELECTING
from sweeper.metrics.run_record import RunRecord
from sweeper.oracle.compare_settings import CompareSettings
from sweeper.oracle.downstream import DownstreamDataset, dataset_config, held_out_split
from sweeper.oracle.evaluate import OracleResult, OracleSettings, evaluate_features
from sweeper.oracle.feature_cache import cached_features
from sweeper.oracle.selection import pick_direction, selection_report

__all__ = ["TrialRecord", "build_report_data", "evaluate_trial", "oracle_attrs", "trial_row"]


class TrialRecord(Protocol):
    """What the oracle reads of a trial (``sweeper.study.trial_runs.TrialRun`` has it)."""

    number: int
    state: str
    params: dict[str, Any]
    run_dir: Path | None
    metrics: RunRecord
    checkpoint: Path | None
    skipped: str | None
    stopped: str | None
    retry_of: int | None
    seed: int | None

    @property
    def method(self) -> str: ...


def trial_row(run: TrialRecord, results: dict[str, OracleResult],
              in_domain: str) -> dict[str, Any]:
    """One evaluated trial as a report row (see :mod:`sweeper.oracle.selection`)."""
    m = run.metrics
    own = results[in_domain]
    row: dict[str, Any] = {
        "number": run.number, "method": run.method, "params": run.params, "state": run.state,
        "status": m.status, "run_dir": str(run.run_dir), "retry_of": run.retry_of,
    }
    if run.seed is not None:  # a study with sweep.seeds > 1: the selection groups by point
        row["seed"] = run.seed
    # only the metrics the run recorded: a key left out says the training never measured it
    # (LiDAR when not enabled), a None that it measured no finite value
    row.update({k: m.values[k] for k in SELECTING if k in m.values})
    # images behind the metrics above (the objective bank), and behind the per-epoch values
    row["objective_bank_size"] = m.objective_bank_size
    row["monitor_bank_size"] = m.monitor_bank_size
    row.update(val_acc=own.val_acc, test_acc=own.test_acc, knn_val_acc=own.knn_val_acc,
               knn_test_acc=own.knn_test_acc, weight_decay=own.weight_decay, knn_k=own.knn_k,
               datasets={name: r.to_dict() for name, r in results.items()},
               history=[{k: h.get(k) for k in ("epoch", "rankme") if k in h}
                        for h in m.history])
    return row


def oracle_attrs(results: dict[str, OracleResult], in_domain: str) -> dict[str, Any]:
    """The user attrs a trial gets: ``oracle_val_acc``, ``oracle_test_acc``, ..."""
    own = results[in_domain]
    attrs: dict[str, Any] = {
        "oracle_val_acc": own.val_acc, "oracle_test_acc": own.test_acc,
        "oracle_knn_val_acc": own.knn_val_acc, "oracle_knn_test_acc": own.knn_test_acc,
        "oracle_weight_decay": own.weight_decay, "oracle_knn_k": own.knn_k,
    }
    for name, r in results.items():
        if name != in_domain:
            attrs[f"oracle_{name}_test_acc"] = r.test_acc
            attrs[f"oracle_{name}_knn_test_acc"] = r.knn_test_acc
    return attrs


def evaluate_trial(run: TrialRecord, datasets: list[DownstreamDataset],
                   settings: OracleSettings, test_split: str | None) -> dict[str, OracleResult]:
    """The oracle of one usable trial on every downstream dataset."""
    assert run.run_dir is not None and run.checkpoint is not None
    train_cfg = OmegaConf.load(run.run_dir / "config.yaml")
    assert isinstance(train_cfg, DictConfig)
    results = {}
    for ds in datasets:
        cfg = dataset_config(train_cfg, ds)
        held_out = held_out_split(cfg, test_split if ds.in_domain else None)
        feats = cached_features(run.run_dir, run.checkpoint, cfg, ds.name, ("train", held_out))
        try:
            results[ds.name] = evaluate_features(feats["train"], feats[held_out], settings)
        except ValueError as err:
            # keep the type: a LabelError stays one
            raise type(err)(f"trial {run.number}, dataset {ds.name!r}: {err}") from None
    return results


def build_report_data(rows: list[dict[str, Any]], skipped: Sequence[TrialRecord],
                      datasets: list[DownstreamDataset], metrics: list[str],
                      cc: CompareSettings, study: dict[str, Any]) -> dict[str, Any]:
    """The content of report.json from the evaluated rows (see the module docstring)."""
    selected = selection_report(
        rows, metrics, datasets=[d.name for d in datasets],
        include_stopped=bool(cc.include_stopped), per_axis=bool(cc.per_axis),
        n_boot=int(cc.bootstrap.n_resamples), seed=int(cc.bootstrap.seed))
    notes = selected.pop("notes")
    others = [r for r in skipped if r.stopped is None]
    if others:
        notes.append(f"{len(others)} trial(s) skipped (failed, running or without "
                     "metrics/checkpoint): see the skipped trials")
    return {
        "study": {**study, "n_trials": len(rows) + len(skipped), "n_evaluated": len(rows),
                  "skipped": [{"number": r.number, "state": r.state, "reason": r.skipped,
                               "stopped": r.stopped} for r in skipped]},
        "datasets": [{"name": d.name, "in_domain": d.in_domain, "note": d.note}
                     for d in datasets],
        "metric_directions": {m: pick_direction(m) for m in selected["metrics"]},
        "probe": dataclasses.asdict(cc.probe),
        "notes": notes,
        "trials": rows,
        **selected,
    }
