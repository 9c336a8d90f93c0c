"""``rankme-sweeper train [overrides]``: a Hydra app around :func:`sweeper.ssl.train.train`.

Hydra's own flags work (``--config-path/-cp``, ``--config-name/-cn``, ``--config-dir/-cd``,
``hydra.run.dir=DIR``, ``--cfg job``); the run dir is Hydra's output dir. Overrides are
checked first, so a misspelled key or an unknown method/backbone/dataset ends with a one-line
error naming it and the nearest valid choices, before anything is built.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from sweeper.config import CONF_DIR, ConfigError, compose_config

__all__ = ["train_main"]

_FLAGS = {"--config-path": "path", "-cp": "path", "--config-name": "name", "-cn": "name",
          "--config-dir": "dir", "-cd": "dir"}


def _flags(argv: Sequence[str]) -> tuple[dict[str, str], list[str]]:
    """Split Hydra's config-location flags (``-cn x`` or ``-cn=x``) from the overrides."""
    found: dict[str, str] = {}
    overrides: list[str] = []
    it = iter(argv)
    for arg in it:
        flag, eq, value = arg.partition("=")
        if flag in _FLAGS:
            found[_FLAGS[flag]] = value if eq else next(it, "")
        elif not arg.startswith("-"):
            overrides.append(arg)
    return found, overrides


def _precheck(argv: Sequence[str]) -> None:
    """Compose the config the way Hydra will and check it, raising ConfigError early."""
    from sweeper.ssl.build import checked_config

    flags, overrides = _flags(argv)
    config_dir = Path(flags.get("path", str(CONF_DIR))).expanduser().resolve()
    cfg = compose_config(overrides, config_name=flags.get("name", "train"),
                         config_dir=config_dir)
    checked_config(cfg)


def train_main(argv: Sequence[str]) -> int:
    """Run one training from Hydra overrides; 0 on completion, 1 on divergence, 2 on a bad
    config or unreadable data."""
    import hydra
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import DictConfig

    if not any(a in ("--help", "-h", "--hydra-help", "--info", "-i") or a.startswith("--cfg")
               or a.startswith("-c=") for a in argv):
        try:
            _precheck(argv)
        except (ConfigError, ValueError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    outcome: dict[str, object] = {}

    def task(cfg: DictConfig) -> None:
        from sweeper.ssl.train import train

        for name in ("lightning.pytorch", "lightning.fabric"):
            logging.getLogger(name).setLevel(logging.WARNING)
        run_dir = Path(HydraConfig.get().runtime.output_dir)
        try:
            outcome["metrics"] = train(cfg, run_dir)
        except ValueError as exc:
            outcome["error"] = str(exc)

    saved = sys.argv
    args = list(argv)
    if not any(a.startswith("hydra.job.name=") for a in args):
        # before the first override, so argparse sees one run of overrides wherever flags are
        at = next((i for i, a in enumerate(args) if "=" in a and not a.startswith("-")),
                  len(args))
        args.insert(at, "hydra.job.name=train")
    sys.argv = ["rankme-sweeper train", *args]
    try:
        hydra.main(config_path=str(CONF_DIR), config_name="train", version_base=None)(task)()
    finally:
        sys.argv = saved
    if "error" in outcome:
        print(f"error: {outcome['error']}", file=sys.stderr)
        return 2
    metrics = outcome.get("metrics")
    if not isinstance(metrics, dict):
        return 0  # --cfg, --help and friends
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
