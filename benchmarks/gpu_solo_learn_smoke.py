"""solo-learn's CIFAR configs on one CUDA GPU, as solo-learn runs them (``precision:
16-mixed``): one short epoch each, with the status (a non-finite loss ends a run as
diverged), RankMe and times per method.

The CPU tests run these configs in float32; mixed precision is where the first GPU run found
overflowing losses and dtype errors, so every method is run here the way its yaml asks.

    python benchmarks/gpu_solo_learn_smoke.py --data ../shared/data/cifar10 --fraction 0.1
    python benchmarks/gpu_solo_learn_smoke.py --data DIR --names simclr byol \\
        --backbones convnext_tiny swin_tiny

Prints one JSON line per run and a summary line; exits 1 when a run the project trains
failed. ``--backbones`` reruns the SimCLR config with each named backbone.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sweeper.cli import main  # noqa: E402
from sweeper.ssl.methods import METHODS  # noqa: E402
from tests.ssl.solo_learn_cifar import CONFIGS as SOLO_CIFAR  # noqa: E402
from tests.ssl.solo_learn_cifar import config  # noqa: E402


def run(name: str, data: Path, fraction: float, work: Path, backbone: str | None,
        accelerator: str = "gpu") -> dict:
    """Trains config ``name`` for one epoch on the GPU; returns what it measured."""
    cfg = config(name)
    label = f"{name}+{backbone}" if backbone else name
    folder = work / label.replace(",", "_").replace("=", "-")  # a path Hydra parses
    folder.mkdir(parents=True)
    (folder / f"{name}.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    run_dir = folder / "run"
    overrides = [
        f"data.train_path={data}", "data.val_path=null", "data.dataset=cifar10",
        f"++data.fraction={fraction}", f"+data.cache.dir={work / 'cache'}", "data.num_workers=8",
        f"accelerator={accelerator}", "devices=1", "strategy=auto", "sync_batchnorm=false",
        "max_epochs=1", "wandb.enabled=false", f"hydra.run.dir={run_dir}",
    ]
    if backbone:  # "name" or "name,key=value,...": backbone.kwargs entries
        name_, *kwargs = backbone.split(",")
        overrides += [f"backbone.name={name_}", *(f"++backbone.kwargs.{kv}" for kv in kwargs)]
    start = time.perf_counter()
    code = main(["train", "--config-path", str(folder), "--config-name", name, *overrides])
    seconds = time.perf_counter() - start
    result = {"config": label, "method": cfg["method"], "precision": cfg.get("precision"),
              "exit": code, "seconds": round(seconds, 1)}
    metrics_path = run_dir / "metrics.json"
    if metrics_path.is_file():
        metrics = json.loads(metrics_path.read_text())
        result.update({k: metrics.get(k) for k in ("status", "rankme", "rankme_projector",
                                                   "global_step", "timings")})
    return result


def main_() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="CIFAR-10 image folders")
    parser.add_argument("--fraction", type=float, default=0.1)
    parser.add_argument("--names", nargs="*", help="configs (default: every trained method)")
    parser.add_argument("--accelerator", default="gpu", help="cpu: try the script here")
    parser.add_argument("--backbones", nargs="*", default=[],
                        help="backbones to run with the simclr config: name[,key=value...]")
    args = parser.parse_args()
    names = args.names or sorted(n for n in SOLO_CIFAR if SOLO_CIFAR[n]["method"] in METHODS)
    jobs = [(n, None) for n in names] + [("simclr", b) for b in args.backbones]
    failed = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, backbone in jobs:
            result = run(name, args.data, args.fraction, Path(tmp), backbone, args.accelerator)
            ok = (result["exit"] == 0 and result.get("status") == "completed"
                  and isinstance(result.get("rankme"), float) and math.isfinite(result["rankme"]))
            if not ok:
                failed.append(result["config"])
            print(json.dumps(result), flush=True)
    print(json.dumps({"runs": len(jobs), "failed": failed}), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main_())
