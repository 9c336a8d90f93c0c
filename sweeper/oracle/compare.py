"""``rankme-sweeper compare``: the oracle on every finished trial, then the report.

For each usable trial and each downstream dataset: cached frozen features, a linear probe
and a kNN whose settings are chosen on a validation split carved from train, accuracy on
the held-out split. Results go onto the trials as user attrs (``oracle_val_acc``,
``oracle_test_acc``, ...), and into ``report.json`` / ``report.md`` / ``report.html`` under
``<study folder>/report/``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import optuna
from omegaconf import DictConfig, OmegaConf

from sweeper.oracle.downstream import (
    DownstreamDataset,
    dataset_config,
    downstream_datasets,
    held_out_split,
)
from sweeper.oracle.evaluate import OracleResult, OracleSettings, evaluate_features
from sweeper.oracle.feature_cache import cached_features
from sweeper.oracle.selection import (
    METRIC_DIRECTIONS,
    correlations,
    selection_by_axis,
    selection_by_method,
)
from sweeper.oracle.splits import LabelError
from sweeper.oracle.study_trials import (
    TrialRun,
    load_trial_runs,
    set_finished_trial_user_attrs,
    study_folder,
)

__all__ = ["build_report_data", "compare_main", "load_study", "run_compare"]

Echo = Callable[[str], None]


def load_study(storage_url: str, study_name: str) -> tuple[optuna.Study, Any]:
    """Open an existing study (never creates one).

    Raises:
        ValueError: for a missing SQLite file or an unknown study name (listing those there).
    """
    from sweeper.study.storage import mask_url, open_storage, sqlite_path

    path = sqlite_path(storage_url)
    if path is not None and not path.is_file():
        raise ValueError(f"no study database at {path} (sweep.storage={mask_url(storage_url)}); "
                         "run `rankme-sweeper sweep` first or pass sweep.storage=...")
    storage = open_storage(storage_url, heartbeat_s=60, max_retries=0)
    names = [s.study_name for s in optuna.get_all_study_summaries(storage)]
    if study_name not in names:
        raise ValueError(f"no study named {study_name!r} in {mask_url(storage_url)}; it holds: "
                         f"{', '.join(names) or 'no study'}")
    return optuna.load_study(study_name=study_name, storage=storage), storage


def _row(run: TrialRun, results: dict[str, OracleResult], in_domain: str) -> dict[str, Any]:
    m = run.metrics
    own = results[in_domain]
    row: dict[str, Any] = {
        "number": run.number, "method": run.method, "params": run.params, "state": run.state,
        "status": m.get("status"), "run_dir": str(run.run_dir),
    }
    for metric in METRIC_DIRECTIONS:
        row[metric] = m.get(metric)
    # images behind the metrics above (the objective bank), and behind the per-epoch values
    row["objective_bank_size"] = m.get("objective_bank_size")
    row["monitor_bank_size"] = m.get("monitor_bank_size")
    row.update(val_acc=own.val_acc, test_acc=own.test_acc, knn_val_acc=own.knn_val_acc,
               knn_test_acc=own.knn_test_acc, weight_decay=own.weight_decay, knn_k=own.knn_k,
               datasets={name: r.to_dict() for name, r in results.items()},
               history=[{k: h.get(k) for k in ("epoch", "rankme") if k in h}
                        for h in m.get("history") or [] if isinstance(h, dict)])
    return row


def _trial_attrs(results: dict[str, OracleResult], in_domain: str) -> dict[str, Any]:
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


def evaluate_trial(run: TrialRun, datasets: list[DownstreamDataset], settings: OracleSettings,
                   test_split: str | None) -> dict[str, OracleResult]:
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


def _mean_gaps(selection: dict[str, Any], metrics: list[str]) -> dict[str, float | None]:
    """Mean over methods of each criterion's gap (the paper's headline: RankMe lost ~0.4
    points of ImageNet accuracy on average against the label-based choice)."""
    out: dict[str, float | None] = {}
    for metric in metrics:
        gaps = [sel[metric]["gap"] for sel in selection.values()
                if metric in sel and sel[metric]["gap"] is not None]
        out[metric] = sum(gaps) / len(gaps) if gaps else None
    return out


def build_report_data(rows: list[dict[str, Any]], skipped: list[TrialRun],
                      datasets: list[DownstreamDataset], metrics: list[str],
                      cc: DictConfig, study: dict[str, Any]) -> dict[str, Any]:
    """The content of report.json from the evaluated rows (see the module docstring)."""
    names = [d.name for d in datasets]
    n_boot, seed = int(cc.bootstrap.n_resamples), int(cc.bootstrap.seed)
    notes = []
    for method in sorted({r["method"] for r in rows}):
        n = sum(r["method"] == method for r in rows)
        if n < 3:
            notes.append(f"{method}: {n} evaluated trial(s); every criterion picks among "
                         f"{n}, and rank correlations need at least 3 trials")
    if skipped:
        notes.append(f"{len(skipped)} trial(s) skipped (failed, running or without "
                     "metrics/checkpoint): see study.skipped")
    report: dict[str, Any] = {
        "study": {**study, "n_trials": len(rows) + len(skipped), "n_evaluated": len(rows),
                  "skipped": [{"number": r.number, "state": r.state, "reason": r.skipped}
                              for r in skipped]},
        "datasets": [{"name": d.name, "in_domain": d.in_domain, "note": d.note}
                     for d in datasets],
        "metrics": metrics,
        "metric_directions": {m: METRIC_DIRECTIONS[m] for m in metrics},
        "probe": OmegaConf.to_container(cc.probe, resolve=True),
        "notes": notes,
        "trials": rows,
        "selection": selection_by_method(rows, metrics, datasets=names),
        "selection_knn": selection_by_method(rows, metrics, val_key="knn_val_acc",
                                             test_key="knn_test_acc", datasets=names),
        "correlation": correlations(rows, metrics, "test_acc", n_boot, seed),
        "correlation_knn": correlations(rows, metrics, "knn_test_acc", n_boot, seed),
    }
    report["mean_gap"] = _mean_gaps(report["selection"], metrics)
    if cc.per_axis:
        axes = sorted({k for r in rows for k in r["params"]})
        report["selection_by_axis"] = selection_by_axis(rows, metrics, axes, datasets=names)
    return report


def run_compare(cfg: DictConfig, echo: Echo = print) -> dict[str, Path]:
    """Evaluate the study named by ``cfg.sweep`` and write its report.

    Returns:
        The written files by kind (``json``, ``md``, ``html``, figures).

    Raises:
        ValueError: for a missing study, no usable trial, missing labels, bad settings.
    """
    from sweeper.report import write_report
    from sweeper.study.storage import mask_url

    cc = cfg.compare
    probe_cfg = OmegaConf.to_container(cc.probe, resolve=True)
    assert isinstance(probe_cfg, dict)
    settings = OracleSettings.from_config({str(k): v for k, v in probe_cfg.items()})
    metrics = [str(m) for m in cc.metrics]
    unknown = set(metrics) - set(METRIC_DIRECTIONS)
    if unknown:
        raise ValueError(f"compare.metrics: unknown {sorted(unknown)}; known: "
                         f"{', '.join(METRIC_DIRECTIONS)}")
    downstream_datasets("<in-domain>", list(cc.ood))  # bad entries fail before any work
    study, storage = load_study(str(cfg.sweep.storage), str(cfg.sweep.study_name))
    runs = load_trial_runs(study)
    usable = [r for r in runs if r.skipped is None]
    skipped = [r for r in runs if r.skipped is not None]
    for r in skipped:
        echo(f"trial {r.number}: skipped ({r.skipped})")
    if not usable:
        raise ValueError(f"study {study.study_name!r} has no finished trial to evaluate "
                         f"({len(runs)} trial(s): {len(skipped)} skipped, reasons above); "
                         "run or finish the sweep first")
    first_dir = usable[0].run_dir
    assert first_dir is not None
    first_cfg = OmegaConf.load(first_dir / "config.yaml")
    assert isinstance(first_cfg, DictConfig)
    datasets = downstream_datasets(str(first_cfg.data.dataset), list(cc.ood))
    rows: list[dict[str, Any]] = []
    failures: list[str] = []
    for run in usable:
        started = time.perf_counter()
        try:
            results = evaluate_trial(run, datasets, settings, cc.test_split)
        except LabelError:
            raise  # the dataset's, not the trial's: every trial would fail the same way
        except ValueError as err:
            run.skipped = f"oracle failed: {err}"
            failures.append(run.skipped)
            skipped.append(run)
            echo(f"trial {run.number}: skipped ({run.skipped})")
            continue
        set_finished_trial_user_attrs(storage, run.trial_id, _trial_attrs(results,
                                                                          datasets[0].name))
        rows.append(_row(run, results, datasets[0].name))
        shown = ", ".join(f"{n} {r.test_acc:.3f}/{r.knn_test_acc:.3f}"
                          for n, r in results.items())
        echo(f"trial {run.number} ({run.method}): probe/kNN test acc {shown} "
             f"({time.perf_counter() - started:.1f} s)")
    if not rows:
        raise ValueError(f"the oracle failed on every trial of {study.study_name!r}; the "
                         f"first: {failures[0]}")
    folder = Path(cc.output_dir) if cc.output_dir else study_folder(runs) / "report"
    data = build_report_data(rows, skipped, datasets, metrics, cc, {
        "name": study.study_name, "storage": mask_url(str(cfg.sweep.storage)),
        "folder": str(folder.parent)})
    return write_report(data, folder, echo=echo)


def compare_main(argv: Sequence[str]) -> int:
    """``rankme-sweeper compare [overrides]``: Hydra overrides of ``conf/compare.yaml``."""
    if any(a in ("-h", "--help") for a in argv):
        print("usage: rankme-sweeper compare [key=value ...]\n\nOracle evaluation of a "
              "study (linear probe + kNN per finished trial) and the selection report.\n"
              "Same overrides as `sweep`, e.g. sweep.study_name=NAME sweep.storage=URL; "
              "settings under compare.* (conf/compare.yaml).")
        return 0
    from sweeper.config import compose_config

    try:
        cfg = compose_config(list(argv), config_name="compare")
        run_compare(cfg)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0
