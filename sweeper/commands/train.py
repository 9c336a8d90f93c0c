"""``rankme-sweeper train [overrides]``: one training run in Hydra's run dir.

Hydra's own flags work (``--config-path/-cp``, ``--config-name/-cn``, ``--config-dir/-cd``,
``hydra.run.dir=DIR``, ``--cfg job``): a solo-learn pretrain file runs with
``--config-path DIR --config-name NAME``. Exit codes: 0 done, 1 diverged, 2 bad input.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from lightning.pytorch.utilities import rank_zero_only
from omegaconf import DictConfig, OmegaConf

from sweeper.metrics.run_record import Divergence, RunRecord
from sweeper.ssl.progress import bank_label
from sweeper.ssl.train import train

__all__ = ["run"]


def _rounded(value: object) -> str:
    """A metric as printed at the end of a run: 4 significant digits, or as it is."""
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def run(cfg: DictConfig) -> int:
    """Runs one training; 0 on completion, 1 on divergence (a ``ValueError`` for a bad
    config or unreadable data: exit 2)."""
    for name in ("lightning.pytorch", "lightning.fabric"):
        logging.getLogger(name).setLevel(logging.WARNING)
    overrides = HydraConfig.get().overrides.task
    if not any(o.lstrip("+~").startswith("enable_progress_bar=") for o in overrides):
        # Lightning's bar on a terminal; elsewhere one line per epoch (sweeper.ssl.progress).
        # force_add: a foreign (solo-learn) config lacks the key until train() completes it
        OmegaConf.update(cfg, "enable_progress_bar", sys.stderr.isatty(), force_add=True)
    record = RunRecord.from_dict(train(cfg, Path(HydraConfig.get().runtime.output_dir)))
    run_dir = record.run_dir
    if getattr(rank_zero_only, "rank", 0):  # another DDP rank: rank 0 reports
        return 1 if record.status == "diverged" else 0
    if record.status == "diverged":
        where = record.diverged or Divergence()
        print(f"error: training diverged ({where.what} at epoch {where.epoch}"
              f", step {where.step}); status written to {run_dir}/metrics.json",
              file=sys.stderr)
        return 1
    epochs = record.epochs
    # the final values' bank: the objective bank, or a stopped run's last monitor step
    bank = bank_label("objective bank" if record.objective_from == "objective bank"
                      else "monitor bank", record.objective_bank_size)
    print(f"{record.status}: {record.method} {epochs} epoch{'' if epochs == 1 else 's'}, "
          f"RankMe {_rounded(record.values.get('rankme'))}, projector "
          f"{_rounded(record.values.get('rankme_projector'))} ({bank}) -> "
          f"{run_dir}/metrics.json")
    return 0
