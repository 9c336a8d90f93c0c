"""Where one trial's oracle spends its time, to set beside the sweep that trained the trial.

For each trial run dir (``config.yaml`` + ``checkpoints/*.ckpt``) it times, in this
process and in the order ``compare`` runs them (no feature cache read or written):

- ``extract``: the trial's train and held-out features, as ``compare`` extracts them
  (data loading, the eval view, the BatchNorm-folded backbone);
- ``forward``: the folded backbone alone on random inputs of the same size, batches of 512
  (the part of ``extract`` that no data path can remove), as images per second;
- ``probe_path``: the linear probe's weight-decay path on the fit split, with the kNN's
  validation scores (:func:`sweeper.oracle.evaluate.choose_settings`);
- ``knn_val``: that kNN alone (included in ``probe_path``);
- ``final_probe`` and ``knn_test``: the refit on all of train and the kNN on the test split.

Run: ``.venv/bin/python benchmarks/oracle_parts.py RUN_DIR [RUN_DIR ...]
[--sweep-seconds S]``. With ``--sweep-seconds`` (the sweep's wall time for these trials,
as its command took it) each part is also printed as a share of the sweep's time per trial.
The last line is JSON.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf

from sweeper.oracle.downstream import held_out_split
from sweeper.oracle.evaluate import OracleSettings, _choose
from sweeper.oracle.knn import knn_accuracies
from sweeper.oracle.probe import LinearProbe
from sweeper.oracle.splits import validation_split
from sweeper.ssl.features import extract_features, load_backbone
from sweeper.ssl.inference import inference_backbone, to_input_layout

ROOT = Path(__file__).resolve().parents[1]


def forward_rate(checkpoint: Path, cfg: DictConfig, shape: tuple[int, ...],
                 n: int = 8192, batch: int = 512) -> float:
    """Images per second of the folded backbone on ``n`` random inputs of ``shape``."""
    net = inference_backbone(load_backbone(checkpoint, cfg)[0])
    x = torch.randn(n, *shape)
    with torch.no_grad():
        net(to_input_layout(x[:batch]))
        t0 = time.perf_counter()
        for i in range(0, n, batch):
            net(to_input_layout(x[i:i + batch]))
    return n / (time.perf_counter() - t0)


def one_trial(run_dir: Path, settings: OracleSettings) -> dict[str, Any]:
    cfg = OmegaConf.load(run_dir / "config.yaml")
    assert isinstance(cfg, DictConfig)
    ckpt = sorted(run_dir.glob("checkpoints/*.ckpt"), key=lambda p: p.stat().st_mtime)[-1]
    test_split = held_out_split(cfg, None)
    t: dict[str, float] = {}
    start = time.perf_counter()
    feats = extract_features(ckpt, cfg, splits=("train", test_split))
    t["extract"] = time.perf_counter() - start
    (x, y), (x_test, y_test) = feats["train"], feats[test_split]
    n_images = len(y) + len(y_test)
    size = int(cfg.augmentations[0].crop_size)
    rate = forward_rate(ckpt, cfg, (int(cfg.data.channels), size, size))
    t["forward"] = n_images / rate
    start = time.perf_counter()
    choice, chosen = _choose((x, y), settings)
    t["probe_path"] = time.perf_counter() - start
    fit, val = validation_split(y, settings.val_fraction, settings.seed)
    start = time.perf_counter()
    knn_accuracies(x[fit], y[fit], x[val], y[val], settings.knn_ks, device=settings.device)
    t["knn_val"] = time.perf_counter() - start
    start = time.perf_counter()
    probe = LinearProbe(choice.weight_decay, settings.max_iter, device=settings.device).fit(
        x, y, init=chosen)
    t["final_probe"] = time.perf_counter() - start
    start = time.perf_counter()
    knn_accuracies(x, y, x_test, y_test, [choice.knn_k], device=settings.device)
    t["knn_test"] = time.perf_counter() - start
    out = {"run_dir": str(run_dir), "images": n_images, "forward_img_per_s": rate,
           "seconds": t, "weight_decay": choice.weight_decay,
           "probe_test_acc": probe.accuracy(x_test, y_test)}
    print(f"{run_dir.name}: " + ", ".join(f"{k} {v:.1f} s" for k, v in t.items())
          + f" ({n_images} images, backbone alone {rate:.0f} images/s)", flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("run_dirs", nargs="+", type=Path)
    ap.add_argument("--sweep-seconds", type=float, default=None,
                    help="the sweep's wall time for these trials")
    args = ap.parse_args()
    probe_cfg = OmegaConf.load(ROOT / "conf" / "compare.yaml").compare.probe
    settings = OracleSettings.from_config(OmegaConf.to_container(probe_cfg))  # type: ignore[arg-type]
    trials = [one_trial(d, settings) for d in args.run_dirs]
    mean = {k: float(np.mean([tr["seconds"][k] for tr in trials]))
            for k in trials[0]["seconds"]}
    summary: dict[str, Any] = {"torch_threads": torch.get_num_threads(), "trials": trials,
                               "mean_seconds": mean}
    line = "mean per trial: " + ", ".join(f"{k} {v:.1f} s" for k, v in mean.items())
    if args.sweep_seconds:
        per_trial = args.sweep_seconds / len(trials)
        share = {k: v / per_trial for k, v in mean.items()}
        summary |= {"sweep_seconds_per_trial": per_trial, "share_of_sweep": share}
        line += f"\nshare of the sweep's {per_trial:.1f} s a trial: " + ", ".join(
            f"{k} {100 * v:.1f}%" for k, v in share.items())
    print(line)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
