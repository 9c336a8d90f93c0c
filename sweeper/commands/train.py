"""``rankme-sweeper train [overrides]``: one training run in Hydra's run dir.

Hydra's own flags work (``--config-path/-cp``, ``--config-name/-cn``, ``--config-dir/-cd``,
``hydra.run.dir=DIR``, ``--cfg job``): a solo-learn pretrain file runs with
``--config-path DIR --config-name NAME``. Exit codes: 0 done, 1 diverged, 2 bad input.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from sweeper.commands.hydra_app import run_app

__all__ = ["OPTIONS", "SUMMARY", "main"]

SUMMARY = "one JE-SSL training run (Hydra overrides) -> run dir, metrics.json"
OPTIONS = ("method=NAME backbone=NAME data=NAME optimizer=NAME max_epochs=N "
           "optimizer.lr=X seed=N accelerator=cpu|gpu hydra.run.dir=DIR")


def _rounded(value: object) -> str:
    """A metric as printed at the end of a run: 4 significant digits, or as it is."""
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _train(cfg: DictConfig) -> int:
    from hydra.core.hydra_config import HydraConfig
    from lightning.pytorch.utilities import rank_zero_only

    from sweeper.ssl.train import train

    for name in ("lightning.pytorch", "lightning.fabric"):
        logging.getLogger(name).setLevel(logging.WARNING)
    overrides = HydraConfig.get().overrides.task
    if not any(o.lstrip("+~").startswith("enable_progress_bar=") for o in overrides):
        # Lightning's bar on a terminal; elsewhere one line per epoch (sweeper.ssl.progress).
        # force_add: a foreign (solo-learn) config lacks the key until train() completes it
        OmegaConf.update(cfg, "enable_progress_bar", sys.stderr.isatty(), force_add=True)
    metrics = train(cfg, Path(HydraConfig.get().runtime.output_dir))
    run_dir = metrics["run_dir"]
    if getattr(rank_zero_only, "rank", 0):  # another DDP rank: rank 0 reports
        return 1 if metrics["status"] == "diverged" else 0
    if metrics["status"] == "diverged":
        where = metrics.get("diverged", {})
        what = where.get("reason") or f"loss {where.get('loss')}"
        print(f"error: training diverged ({what} at epoch {where.get('epoch')}"
              f", step {where.get('step')}); status written to {run_dir}/metrics.json",
              file=sys.stderr)
        return 1
    epochs = metrics["epochs"]
    print(f"{metrics['status']}: {metrics['method']} {epochs} epoch{'' if epochs == 1 else 's'}, "
          f"RankMe {_rounded(metrics.get('rankme'))}, projector "
          f"{_rounded(metrics.get('rankme_projector'))} -> {run_dir}/metrics.json")
    return 0


def main(argv: Sequence[str]) -> int:
    """Runs one training from Hydra overrides; 0 on completion, 1 on divergence, 2 on a bad
    config or unreadable data."""
    return run_app("train", argv, _train, config_name="train", summary=SUMMARY,
                   options=OPTIONS, relaunch=True)
