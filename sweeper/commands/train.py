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

from omegaconf import DictConfig

from sweeper.commands.hydra_app import run_app

__all__ = ["SUMMARY", "main"]

SUMMARY = "one JE-SSL training run (Hydra overrides) -> run dir, metrics.json"


def _train(cfg: DictConfig) -> int:
    from hydra.core.hydra_config import HydraConfig

    from sweeper.ssl.train import train

    for name in ("lightning.pytorch", "lightning.fabric"):
        logging.getLogger(name).setLevel(logging.WARNING)
    metrics = train(cfg, Path(HydraConfig.get().runtime.output_dir))
    run_dir = metrics["run_dir"]
    if metrics["status"] == "diverged":
        where = metrics.get("diverged", {})
        print(f"error: training diverged (loss {where.get('loss')} at epoch {where.get('epoch')}"
              f", step {where.get('step')}); status written to {run_dir}/metrics.json",
              file=sys.stderr)
        return 1
    print(f"{metrics['status']}: {metrics['method']} {metrics['epochs']} epochs, "
          f"RankMe {metrics.get('rankme')}, projector {metrics.get('rankme_projector')} "
          f"-> {run_dir}/metrics.json")
    return 0


def main(argv: Sequence[str]) -> int:
    """Runs one training from Hydra overrides; 0 on completion, 1 on divergence, 2 on a bad
    config or unreadable data."""
    return run_app("train", argv, _train, config_name="train", summary=SUMMARY)
