"""The ``sweep.*`` and ``launcher.*`` blocks of a config, checked and typed once, before
anything is created.

Their schemas hold types only; every default is in ``conf/sweep.yaml`` and
``conf/launcher/*.yaml``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import MISSING, DictConfig, OmegaConf

from sweeper.metrics.registry import SELECTING, direction_of
from sweeper.schema import int_at_least, read_block
from sweeper.study.storage import ProxySchema, StorageSettings

__all__ = ["LAUNCHERS", "LocalLauncher", "ProxySchema", "SlurmLauncher",
           "SweepSchema", "SweepSettings", "read_launcher", "read_settings", "split_config"]

# Config keys that belong to the sweep, not to a training run.
SWEEP_KEYS = ("sweep", "space", "launcher", "hydra")


@dataclass
class SamplerSchema:
    """``sweep.sampler``: the keys every sampler reads a subset of."""

    name: str = MISSING
    seed: int | None = MISSING
    n_startup_trials: int = MISSING
    population_size: int = MISSING


@dataclass
class PrunerSchema:
    """``sweep.pruner``: the keys every pruner reads a subset of."""

    name: str = MISSING
    n_startup_trials: int = MISSING
    n_warmup_steps: int = MISSING
    interval_steps: int = MISSING
    percentile: float = MISSING
    min_resource: int | str = MISSING  # an integer or "auto"
    max_resource: int | str = MISSING
    reduction_factor: int = MISSING
    p_threshold: float = MISSING


@dataclass
class SweepSchema:
    """The types of ``conf/sweep.yaml``'s ``sweep`` block."""

    study_name: str = MISSING
    dir: str = MISSING
    storage: str = MISSING
    objective: Any = MISSING  # a metric name or a list of them
    direction: Any = MISSING  # null, maximize, minimize, or a list of them
    n_trials: int = MISSING
    seeds: int = MISSING
    workers: int = MISSING
    sampler: SamplerSchema = field(default_factory=SamplerSchema)
    pruner: PrunerSchema = field(default_factory=PrunerSchema)
    heartbeat_s: int = MISSING
    max_retries: int = MISSING
    enqueue: list[dict[str, Any]] = MISSING
    train_fn: str = MISSING
    storage_proxy: ProxySchema = field(default_factory=ProxySchema)


@dataclass
class LocalLauncher:
    """``conf/launcher/local.yaml``: worker processes on this machine."""

    name: str = MISSING
    refresh_s: float = MISSING
    trials_per_gpu: int = MISSING


@dataclass
class SlurmLauncher:
    """``conf/launcher/slurm.yaml``: worker jobs submitted through submitit."""

    name: str = MISSING
    partition: str | None = MISSING
    time_min: int = MISSING
    gpus_per_node: int = MISSING
    cpus_per_task: int = MISSING
    mem_gb: float = MISSING
    folder: str = MISSING
    additional_parameters: dict[str, Any] = MISSING
    wait: bool = MISSING
    signal_delay_s: int = MISSING
    max_num_timeout: int = MISSING
    trials_per_gpu: int = MISSING


LAUNCHERS: dict[str, type[LocalLauncher] | type[SlurmLauncher]] = {
    "local": LocalLauncher, "slurm": SlurmLauncher}
SLURM_ONLY = frozenset(SlurmLauncher.__dataclass_fields__) - frozenset(
    LocalLauncher.__dataclass_fields__)


@dataclass(frozen=True)
class SweepSettings:
    """A checked ``sweep.*`` block (paths absolute, objectives and directions as tuples)."""

    study_name: str
    storage: StorageSettings  # with sweep.heartbeat_s, max_retries and storage_proxy
    dir: Path
    objectives: tuple[str, ...]
    directions: tuple[str, ...]
    n_trials: int  # trials, i.e. points x seeds
    seeds: int
    workers: int
    sampler: dict[str, Any]
    pruner: dict[str, Any]
    enqueue: tuple[dict[str, Any], ...]
    train_fn: str

    @property
    def multi_objective(self) -> bool:
        """Whether the study has more than one objective."""
        return len(self.objectives) > 1


def _objectives(value: Any) -> tuple[str, ...]:
    names = [value] if isinstance(value, str) else list(value) if isinstance(value, Sequence) \
        else None
    if not names:
        raise ValueError(f"sweep.objective must be a metric name or a list of them, got {value!r}; "
                         f"allowed: {', '.join(SELECTING)}")
    for name in names:
        if name not in SELECTING:
            raise ValueError(f"sweep.objective {name!r} is not a metric; "
                             f"allowed: {', '.join(SELECTING)}")
    if len(set(names)) != len(names):
        raise ValueError(f"sweep.objective lists a metric twice: {names}")
    return tuple(names)


def _directions(value: Any, objectives: tuple[str, ...]) -> tuple[str, ...]:
    if value is None:
        return tuple(direction_of(name) for name in objectives)  # the registry's
    given = [value] if isinstance(value, str) else list(value)
    if len(given) != len(objectives):
        raise ValueError(f"sweep.direction has {len(given)} entries for {len(objectives)} "
                         f"objectives {list(objectives)}; give one per objective or null")
    for direction in given:
        if direction not in ("maximize", "minimize"):
            raise ValueError(f"sweep.direction {direction!r} must be maximize or minimize")
    return tuple(given)


def split_config(cfg: DictConfig) -> tuple[DictConfig, DictConfig]:
    """Splits a composed sweep config into (training config, sweep part).

    Both keep struct mode. The training config holds everything but ``sweep``, ``space``,
    ``launcher`` and ``hydra``.
    """
    train_cfg = cfg.copy()
    # Resolved while still attached to the root: `${name}` and friends point into training keys.
    sweep_part = OmegaConf.create({k: OmegaConf.to_container(cfg[k], resolve=True)
                                   for k in SWEEP_KEYS if k in cfg and k != "hydra"})
    OmegaConf.set_struct(train_cfg, False)
    for key in SWEEP_KEYS:
        if key in train_cfg:
            del train_cfg[key]
    OmegaConf.set_struct(train_cfg, True)
    OmegaConf.set_struct(sweep_part, True)
    return train_cfg, sweep_part


def read_settings(sweep: Mapping[str, Any] | DictConfig, base: Path | None = None) -> SweepSettings:
    """Checks a ``sweep`` block and returns it typed.

    Args:
        sweep: the resolved ``sweep`` node.
        base: folder that relative paths (``sweep.dir``, relative SQLite files) are taken
            from; the current directory by default.

    Raises:
        ValueError: naming the bad key, its value and what is allowed.
    """
    raw = read_block(SweepSchema, sweep, "sweep", "conf/sweep.yaml")
    base = (base or Path.cwd()).resolve()
    objectives = _objectives(raw.objective)
    for entry in raw.enqueue:
        for key, value in entry.items():
            if isinstance(value, float) and not math.isfinite(value):
                raise ValueError(f"sweep.enqueue: {key}={value} is not finite")
    if not raw.study_name:
        raise ValueError("sweep.study_name must be a non-empty string")
    seeds = int_at_least("sweep.seeds", raw.seeds, 1)
    n_trials = int_at_least("sweep.n_trials", raw.n_trials, 1)
    if n_trials % seeds:
        raise ValueError(f"sweep.n_trials={n_trials} is not a multiple of sweep.seeds={seeds}: "
                         f"n_trials counts trials, each point trained once per seed; set "
                         f"sweep.n_trials={n_trials // seeds * seeds or seeds} or "
                         f"{(n_trials // seeds + 1) * seeds}")
    storage = StorageSettings.parse(raw.storage, heartbeat_s=raw.heartbeat_s,
                                    max_retries=raw.max_retries, proxy=raw.storage_proxy,
                                    base=base)
    return SweepSettings(
        study_name=raw.study_name,
        storage=storage,
        dir=(base / raw.dir).resolve(),
        objectives=objectives,
        directions=_directions(raw.direction, objectives),
        n_trials=n_trials,
        seeds=seeds,
        workers=int_at_least("sweep.workers", raw.workers, 1),
        sampler=asdict(raw.sampler),
        pruner=asdict(raw.pruner),
        enqueue=tuple(dict(e) for e in raw.enqueue),
        train_fn=raw.train_fn,
    )


def read_launcher(launcher: Mapping[str, Any] | DictConfig, sweep: SweepSettings | None = None
                  ) -> LocalLauncher | SlurmLauncher:
    """Checks a ``launcher`` block (``conf/launcher/<name>.yaml``) and returns it typed.

    Args:
        launcher: the block.
        sweep: the sweep it launches, checked with its rules across both blocks.

    Raises:
        ValueError: for an unknown launcher name, a bad key or value, or a launcher that
            cannot run ``sweep``.
    """
    name = launcher.get("name")
    if name not in LAUNCHERS:
        raise ValueError(f"unknown launcher {name!r}; choose one of: {', '.join(LAUNCHERS)}")
    if name == "local":
        # A cluster preset (experiment=paper_*) run with launcher=local keeps its Slurm
        # resources: they mean nothing on this machine, so say so and leave them out.
        slurm_only = [str(k) for k in launcher if k in SLURM_ONLY]
        if slurm_only:
            warnings.warn(f"launcher=local does not use the Slurm settings "
                          f"{', '.join('launcher.' + k for k in slurm_only)}; left out",
                          stacklevel=2)
            launcher = {str(k): v for k, v in launcher.items() if k not in SLURM_ONLY}
    block = read_block(LAUNCHERS[str(name)], launcher, "launcher", f"conf/launcher/{name}.yaml")
    int_at_least("launcher.trials_per_gpu", block.trials_per_gpu, 1)
    if isinstance(block, SlurmLauncher):
        for key in ("signal_delay_s", "max_num_timeout"):
            if getattr(block, key) < 0:
                raise ValueError(f"launcher.{key} must be >= 0, got {getattr(block, key)}")
        if sweep is not None and sweep.storage.proxy is not None and not block.wait:
            raise ValueError("sweep.storage_proxy.enabled=true needs launcher.wait=true: the "
                             "proxy runs as long as the sweep command, and the jobs need it "
                             "to the end")
    return block
