"""The oracle of ``compare`` before and after issue 21's speed-ups, on the same trials.

For each trial run dir (``config.yaml`` + ``checkpoints/*.ckpt``, as a sweep writes them):

- reference: features from the backbone as loaded (``extract_features(fast=False)``), then
  the probe's final refit on all of train started from zero (the oracle before the change);
- new: features from the BatchNorm-folded channels-last copy (``fast=True``), then
  :func:`sweeper.oracle.evaluate.evaluate_features` (final refit warm-started from the
  chosen weight decay's fit).

Both run in this process, one after the other, on the trial's in-domain train and held-out
splits (no feature cache is read or written). Printed: seconds per part, the time ratio
new / reference, and the largest probe / kNN accuracy difference in points; the last line
is JSON (also written to ``--out`` when given).

Run: ``.venv/bin/python benchmarks/bench_oracle.py RUN_DIR [RUN_DIR ...] [--out FILE]``
(the CIFAR-10 CPU experiment's trials: ``outputs/sweeps/cifar10_cpu_<method>/trial_*``).
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf

from sweeper.oracle.downstream import held_out_split
from sweeper.oracle.evaluate import (
    OracleResult,
    OracleSettings,
    choose_settings,
    evaluate_features,
)
from sweeper.oracle.knn import knn_accuracies
from sweeper.oracle.probe import LinearProbe
from sweeper.oracle.splits import check_labels, validation_split
from sweeper.ssl.features import extract_features

Split = tuple[np.ndarray, np.ndarray]
ROOT = Path(__file__).resolve().parents[1]


def reference_evaluate(train: Split, test: Split, s: OracleSettings) -> OracleResult:
    """The oracle before the change: the same choice, the final probe refit from zero."""
    choice = choose_settings(train, s)
    x, y = train[0], check_labels(train[1], "train")
    x_test, y_test = test[0], check_labels(test[1], "test")
    probe = LinearProbe(choice.weight_decay, s.max_iter, device=s.device).fit(x, y)
    knn = knn_accuracies(x, y, x_test, y_test, [choice.knn_k], device=s.device)
    return OracleResult(
        val_acc=choice.val_acc, test_acc=probe.accuracy(x_test, y_test),
        weight_decay=choice.weight_decay, knn_val_acc=choice.knn_val_acc,
        knn_test_acc=knn[choice.knn_k], knn_k=choice.knn_k, n_train=int(y.size),
        n_val=int(validation_split(y, s.val_fraction, s.seed)[1].size),
        n_test=int(y_test.size), n_classes=int(np.unique(y).size))


def checkpoint_of(run_dir: Path) -> Path:
    found = sorted(run_dir.glob("checkpoints/*.ckpt"), key=lambda p: p.stat().st_mtime)
    if not found:
        raise SystemExit(f"{run_dir}: no checkpoints/*.ckpt (not a finished trial's run dir)")
    return found[-1]


def one_trial(run_dir: Path, settings: OracleSettings) -> dict[str, Any]:
    cfg = OmegaConf.load(run_dir / "config.yaml")
    assert isinstance(cfg, DictConfig)
    ckpt = checkpoint_of(run_dir)
    splits = ("train", held_out_split(cfg, None))
    out: dict[str, Any] = {"run_dir": str(run_dir)}
    for name, fast, evaluate in (("reference", False, reference_evaluate),
                                 ("new", True, evaluate_features)):
        t0 = time.perf_counter()
        feats = extract_features(ckpt, cfg, splits=splits, fast=fast)
        t1 = time.perf_counter()
        result = evaluate(feats[splits[0]], feats[splits[1]], settings)
        t2 = time.perf_counter()
        out[name] = {"extract_s": t1 - t0, "probe_knn_s": t2 - t1, "total_s": t2 - t0,
                     **result.to_dict()}
        print(f"{run_dir.name} {name}: extract {t1 - t0:.1f} s, probe+kNN {t2 - t1:.1f} s; "
              f"probe test {100 * result.test_acc:.2f}%, kNN test "
              f"{100 * result.knn_test_acc:.2f}% (wd {result.weight_decay:g}, "
              f"k {result.knn_k})", flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("run_dirs", nargs="+", type=Path)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    probe_cfg = OmegaConf.load(ROOT / "conf" / "compare.yaml").compare.probe
    settings = OracleSettings.from_config(OmegaConf.to_container(probe_cfg))  # type: ignore[arg-type]
    trials = [one_trial(d, settings) for d in args.run_dirs]
    ref = sum(t["reference"]["total_s"] for t in trials)
    new = sum(t["new"]["total_s"] for t in trials)
    diffs = {key: max(100 * abs(t["new"][key] - t["reference"][key]) for t in trials)
             for key in ("test_acc", "val_acc", "knn_test_acc")}
    summary = {"machine": f"{platform.processor() or platform.machine()}, "
                          f"{torch.get_num_threads()} torch threads",
               "trials": trials, "reference_s": ref, "new_s": new, "ratio": new / ref,
               "max_diff_points": diffs}
    print(f"reference {ref:.1f} s, new {new:.1f} s: ratio {new / ref:.3f}; largest "
          f"difference (points): probe test {diffs['test_acc']:.3f}, probe val "
          f"{diffs['val_acc']:.3f}, kNN test {diffs['knn_test_acc']:.3f}")
    if args.out:
        args.out.write_text(json.dumps(summary, indent=1))
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
