"""Why RankMe picks what it picks: the same selection with other banks, embeddings, eps and
training lengths, on a study that `compare` has evaluated.

For each swept axis (the trials that differ from the study's first trial in that param
only: the paper's one-at-a-time lines) and for the whole study, it picks the highest value
of each variant and reports the pick's test accuracy, its gap to the oracle's pick
(validation accuracy), and Spearman's rho with test accuracy:

- ``objective``: RankMe of the backbone on the objective bank (what the study used);
- ``projector``: the same on the projector's output;
- ``monitor@E``: RankMe on the per-epoch monitor bank after epoch E (training length);
- ``train50k eps=X``: RankMe of the backbone features of the whole train split (the
  oracle's cached features, ``<run dir>/features/<dataset>/train.npz``) with eps X (bank
  size and eps).

Diverged runs are left out (they have no objective). Usage::

    .venv/bin/python benchmarks/selection_diagnostics.py STORAGE_URL STUDY_NAME [--dataset cifar10]

Prints a markdown table, then one JSON object as its last line.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import torch
from optuna.trial import TrialState
from scipy.stats import spearmanr

from sweeper.metrics import SpectrumAccumulator
from sweeper.metrics.spectral import effective_rank_of_spectrum


def load(storage: str, name: str, dataset: str) -> list[dict[str, Any]]:
    study = optuna.load_study(study_name=name, storage=storage)
    rows = []
    for t in sorted(study.get_trials(states=(TrialState.COMPLETE,)), key=lambda t: t.number):
        run_dir = Path(t.user_attrs["run_dir"])
        m = json.loads((run_dir / "metrics.json").read_text())
        with np.load(run_dir / "features" / dataset / "train.npz") as f:
            s = SpectrumAccumulator.from_matrix(torch.from_numpy(f["features"])).singular_values()
        variants = {"objective": m["rankme"], "projector": m["rankme_projector"]}
        variants |= {f"monitor@{h['epoch']}": h["rankme"] for h in m["history"]}
        for eps in (1e-7, 1e-5, 1e-3):
            variants[f"train50k eps={eps:g}"] = effective_rank_of_spectrum(s, eps=eps)
        rows.append({"number": t.number, "params": t.params, "variants": variants,
                     "val": t.user_attrs["oracle_val_acc"],
                     "test": t.user_attrs["oracle_test_acc"]})
    return rows


def judge(rows: list[dict[str, Any]], variant: str) -> dict[str, Any]:
    oracle = max(rows, key=lambda r: r["val"])
    pick = max(rows, key=lambda r: r["variants"][variant])
    rho = spearmanr([r["variants"][variant] for r in rows], [r["test"] for r in rows])[0]
    return {"pick": pick["number"], "test": pick["test"], "gap": oracle["test"] - pick["test"],
            "rho": None if np.isnan(rho) else float(rho)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("storage")
    parser.add_argument("study")
    parser.add_argument("--dataset", default="cifar10")
    args = parser.parse_args()
    rows = load(args.storage, args.study, args.dataset)
    centre = rows[0]["params"]
    groups = {"all": rows}
    for axis in centre:
        line = [r for r in rows
                if all(r["params"][k] == v for k, v in centre.items() if k != axis)]
        if len({r["params"][axis] for r in line}) > 1:
            groups[axis] = line
    variants = list(rows[0]["variants"])
    result = {g: {v: judge(line, v) for v in variants} for g, line in groups.items()}
    print("| variant | " + " | ".join(f"{g} (n={len(groups[g])})" for g in groups) + " |")
    print("| --- |" + " --- |" * len(groups))
    for v in variants:
        cells = [f"#{r['pick']} {100 * r['test']:.2f}% gap {100 * r['gap']:+.2f}, rho "
                 + ("-" if r["rho"] is None else f"{r['rho']:+.2f}")
                 for r in (result[g][v] for g in groups)]
        print(f"| {v} | " + " | ".join(cells) + " |")
    print(json.dumps({"study": args.study, "groups": {g: [r["number"] for r in line]
                                                      for g, line in groups.items()},
                      "result": result}))


if __name__ == "__main__":
    main()
