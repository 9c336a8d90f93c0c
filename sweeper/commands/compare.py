"""``rankme-sweeper compare [overrides]``: the oracle on every finished trial, then the report.

The same overrides as the ``sweep`` that made the study name it (``sweep.study_name=...``,
``sweep.storage=...``); settings under ``compare.*`` (``conf/compare.yaml``). Results go
onto the trials as user attrs (``oracle_val_acc``, ``oracle_test_acc``, ...) and into
``report.json`` / ``report.md`` / ``report.html`` under ``<study folder>/report/``.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from sweeper.metrics.registry import SELECTING
from sweeper.oracle.compare import (
    build_report_data,
    evaluate_trial,
    oracle_attrs,
    trial_row,
)
from sweeper.oracle.compare_settings import read_compare
from sweeper.oracle.downstream import downstream_datasets
from sweeper.oracle.evaluate import OracleSettings
from sweeper.oracle.splits import LabelError
from sweeper.report import write_report
from sweeper.study.optuna_adapter import set_finished_trial_user_attrs
from sweeper.study.storage import StorageSettings, mask_url
from sweeper.study.trial_runs import load_existing_study, load_trial_runs, study_folder

__all__ = ["run", "run_compare"]

Echo = Callable[[str], None]


def run_compare(cfg: DictConfig, echo: Echo = print) -> dict[str, Path]:
    """Evaluate the study named by ``cfg.sweep`` and write its report.

    Returns:
        The written files by kind (``json``, ``md``, ``html``, figures).

    Raises:
        ValueError: for a missing study, no usable trial, missing labels, bad settings.
    """
    cc = read_compare(cfg.compare)
    settings = OracleSettings.from_config(dataclasses.asdict(cc.probe))
    metrics = [str(m) for m in cc.metrics]
    unknown = set(metrics) - set(SELECTING)
    if unknown:
        raise ValueError(f"compare.metrics: unknown {sorted(unknown)}; known: "
                         f"{', '.join(SELECTING)}")
    downstream_datasets("<in-domain>", list(cc.ood))  # bad entries fail before any work
    where = StorageSettings.parse(str(cfg.sweep.storage), heartbeat_s=int(cfg.sweep.heartbeat_s),
                                  max_retries=int(cfg.sweep.max_retries))
    study, storage = load_existing_study(where, str(cfg.sweep.study_name))
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
        set_finished_trial_user_attrs(storage, study.study_name, run.number,
                                      oracle_attrs(results, datasets[0].name))
        rows.append(trial_row(run, results, datasets[0].name))
        shown = ", ".join(f"{n} {100 * r.test_acc:.2f}/{100 * r.knn_test_acc:.2f}"
                          for n, r in results.items())
        echo(f"trial {run.number} ({run.method}): probe/kNN test acc (%) {shown} "
             f"({time.perf_counter() - started:.1f} s)")
    if not rows:
        raise ValueError(f"the oracle failed on every trial of {study.study_name!r}; the "
                         f"first: {failures[0]}")
    folder = Path(cc.output_dir) if cc.output_dir else study_folder(runs) / "report"
    data = build_report_data(rows, skipped, datasets, metrics, cc, {
        "name": study.study_name, "storage": mask_url(str(cfg.sweep.storage)),
        "folder": str(folder.parent), "ran_in": str(Path.cwd())})  # what relative paths mean
    return write_report(data, folder, echo=echo)


def run(cfg: DictConfig) -> int:
    """Evaluates the study's trials and writes the report (bad input: exit 2)."""
    run_compare(cfg)
    return 0
