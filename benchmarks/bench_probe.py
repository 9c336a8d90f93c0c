"""The oracle's torch linear probe vs sklearn's LogisticRegression on the same features.

Both fit the same objective on the same standardized features: multinomial logistic
regression with L2 ``weight_decay / 2 * ||W||^2`` on the mean loss, which is sklearn's
``C = 1 / (weight_decay * N)``; sklearn uses its default lbfgs solver (float64), the
probe full-batch L-BFGS in float32 (CUDA when present). Datasets: sklearn's digits pixels
(1,797 x 64, 10 classes) and a synthetic 25,600 x 512 set (100 overlapping Gaussian
classes). Each fit is timed ``--repeats`` times in this process (median); the last line is
JSON with accuracies, seconds and the speed-up.

Run: ``.venv/bin/python benchmarks/bench_probe.py [--repeats 3] [--device cpu]``
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

from sweeper.oracle.probe import LinearProbe

Data = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def digits() -> Data:
    x, y = load_digits(return_X_y=True)
    rng = np.random.default_rng(0)
    order = rng.permutation(len(y))
    x, y = x[order].astype(np.float32), y[order]
    return x[:1300], y[:1300], x[1300:], y[1300:]


def synthetic(n: int = 25_600, dim: int = 512, classes: int = 100) -> Data:
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(classes, dim)) * 0.12
    y = rng.integers(0, classes, size=n + 5_000)
    x = (centres[y] + rng.normal(size=(y.size, dim))).astype(np.float32)
    return x[:n], y[:n], x[n:], y[n:]


def timed(fn: Callable[[], Any], repeats: int) -> tuple[Any, float]:
    out, times = None, []
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return out, statistics.median(times)


def compare(name: str, data: Data, weight_decay: float, repeats: int,
            device: str | None) -> dict[str, Any]:
    xtr, ytr, xte, yte = data
    mean, std = xtr.mean(0), xtr.std(0, ddof=1)
    std[std < 1e-12] = 1.0

    def sk() -> float:
        model = LogisticRegression(C=1.0 / (weight_decay * len(ytr)), max_iter=1000)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit((xtr - mean) / std, ytr)
        return float(np.mean(model.predict((xte - mean) / std) == yte))

    def ours() -> float:
        return LinearProbe(weight_decay, device=device).fit(xtr, ytr).accuracy(xte, yte)

    ours()  # warm-up: torch kernels and allocator
    acc_torch, t_torch = timed(ours, repeats)
    acc_sk, t_sk = timed(sk, repeats)
    return {"dataset": name, "n_train": len(ytr), "dim": xtr.shape[1],
            "classes": int(np.unique(ytr).size), "weight_decay": weight_decay,
            "acc_torch": acc_torch, "acc_sklearn": acc_sk,
            "acc_diff_points": round(100 * (acc_torch - acc_sk), 3),
            "s_torch": round(t_torch, 4), "s_sklearn": round(t_sk, 4),
            "speedup": round(t_sk / t_torch, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default=None, help="torch device (default: cuda if any)")
    args = parser.parse_args()
    rows = [compare("digits", digits(), 1e-3, args.repeats, args.device),
            compare("synthetic", synthetic(), 1e-3, args.repeats, args.device)]
    for r in rows:
        print(f"{r['dataset']:>9} {r['n_train']:>6} x {r['dim']:<4} acc torch "
              f"{100 * r['acc_torch']:.2f} / sklearn {100 * r['acc_sklearn']:.2f}   "
              f"{r['s_torch']:.3f} s vs {r['s_sklearn']:.3f} s   x{r['speedup']}")
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    print(json.dumps({"benchmark": "bench_probe", "device": device,
                      "cpu": platform.processor() or platform.machine(),
                      "torch_threads": torch.get_num_threads(), "results": rows}))


if __name__ == "__main__":
    main()
