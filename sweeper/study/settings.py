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

from sweeper.metrics.registry import METRICS
from sweeper.schema import read_block

__all__ = ["DEFAULT_DIRECTIONS", "LAUNCHERS", "LocalLauncher", "ProxySchema", "SlurmLauncher",
           "SweepSchema", "SweepSettings", "read_launcher", "read_settings", "split_config"]

# Direction per metric when `sweep.direction` is null: the metric registry's.
DEFAULT_DIRECTIONS: dict[str, str] = {m.name: m.direction for m in METRICS if m.selects}

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
class ProxySchema:
    """``sweep.storage_proxy``: a gRPC storage proxy in front of ``sweep.storage``."""

    enabled: bool = MISSING
    host: str | None = MISSING  # what workers connect to; null: chosen by the launcher
    port: int = MISSING  # 0: any free port
    max_connections: int = MISSING


@dataclass
class SweepSchema:
    """The types of ``conf/sweep.yaml``'s ``sweep`` block."""

    study_name: str = MISSING
    dir: str = MISSING
    storage: str = MISSING
    objective: Any = MISSING  # a metric name or a list of them
    direction: Any = MISSING  # null, maximize, minimize, or a list of them
    n_trials: int = MISSING
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


LAUNCHERS: dict[str, type[LocalLauncher] | type[SlurmLauncher]] = {
    "local": LocalLauncher, "slurm": SlurmLauncher}
SLURM_ONLY = frozenset(SlurmLauncher.__dataclass_fields__) - frozenset(
    LocalLauncher.__dataclass_fields__)


@dataclass(frozen=True)
class SweepSettings:
    """A checked ``sweep.*`` block (paths absolute, objectives and directions as tuples)."""

    study_name: str
    storage: str
    dir: Path
    objectives: tuple[str, ...]
    directions: tuple[str, ...]
    n_trials: int
    workers: int
    heartbeat_s: int
    max_retries: int
    sampler: dict[str, Any]
    pruner: dict[str, Any]
    enqueue: tuple[dict[str, Any], ...]
    train_fn: str
    storage_proxy: ProxySchema | None = None  # None: workers open sweep.storage themselves

    @property
    def multi_objective(self) -> bool:
        """Whether the study has more than one objective."""
        return len(self.objectives) > 1


def _positive_int(name: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"sweep.{name} must be an integer >= {minimum}, got {value!r}")
    return value


def _objectives(value: Any) -> tuple[str, ...]:
    names = [value] if isinstance(value, str) else list(value) if isinstance(value, Sequence) \
        else None
    if not names:
        raise ValueError(f"sweep.objective must be a metric name or a list of them, got {value!r}; "
                         f"allowed: {', '.join(DEFAULT_DIRECTIONS)}")
    for name in names:
        if name not in DEFAULT_DIRECTIONS:
            raise ValueError(f"sweep.objective {name!r} is not a metric; "
                             f"allowed: {', '.join(DEFAULT_DIRECTIONS)}")
    if len(set(names)) != len(names):
        raise ValueError(f"sweep.objective lists a metric twice: {names}")
    return tuple(names)


def _directions(value: Any, objectives: tuple[str, ...]) -> tuple[str, ...]:
    if value is None:
        return tuple(DEFAULT_DIRECTIONS[name] for name in objectives)
    given = [value] if isinstance(value, str) else list(value)
    if len(given) != len(objectives):
        raise ValueError(f"sweep.direction has {len(given)} entries for {len(objectives)} "
                         f"objectives {list(objectives)}; give one per objective or null")
    for direction in given:
        if direction not in ("maximize", "minimize"):
            raise ValueError(f"sweep.direction {direction!r} must be maximize or minimize")
    return tuple(given)


def _absolute_storage(url: str, base: Path) -> str:
    """``sqlite:///relative.db`` made absolute, so that every worker finds the same file."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and url != prefix + ":memory:":
        return prefix + str((base / url[len(prefix):]).resolve())
    return url


def _proxy(proxy: ProxySchema, storage: str) -> ProxySchema | None:
    if not proxy.enabled:
        return None
    if not 0 <= proxy.port <= 65535:
        raise ValueError(f"sweep.storage_proxy.port must be 0 (any free port) to 65535, "
                         f"got {proxy.port}")
    _positive_int("storage_proxy.max_connections", proxy.max_connections)
    if proxy.host is not None and not proxy.host.strip():
        raise ValueError("sweep.storage_proxy.host must be a host name or address, or null")
    if storage.startswith("grpc://"):
        raise ValueError(f"sweep.storage_proxy.enabled=true with sweep.storage={storage!r}, "
                         "already a proxy: give the database URL, or disable the proxy")
    if storage in ("sqlite://", "sqlite:///:memory:"):
        raise ValueError(f"sweep.storage_proxy.enabled=true with sweep.storage={storage!r}: an "
                         "in-memory database lives in one process and the proxy is another; "
                         "use a database file or server (sqlite:////abs/study.db, "
                         "postgresql+psycopg://...)")
    return proxy


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
    heartbeat = _positive_int("heartbeat_s", raw.heartbeat_s, minimum=2)
    max_retries = _positive_int("max_retries", raw.max_retries, minimum=0)
    for entry in raw.enqueue:
        for key, value in entry.items():
            if isinstance(value, float) and not math.isfinite(value):
                raise ValueError(f"sweep.enqueue: {key}={value} is not finite")
    if not raw.study_name:
        raise ValueError("sweep.study_name must be a non-empty string")
    proxy = _proxy(raw.storage_proxy, raw.storage)
    return SweepSettings(
        study_name=raw.study_name,
        storage=_absolute_storage(raw.storage, base),
        dir=(base / raw.dir).resolve(),
        objectives=objectives,
        directions=_directions(raw.direction, objectives),
        n_trials=_positive_int("n_trials", raw.n_trials),
        workers=_positive_int("workers", raw.workers),
        heartbeat_s=heartbeat,
        max_retries=max_retries,
        sampler=asdict(raw.sampler),
        pruner=asdict(raw.pruner),
        enqueue=tuple(dict(e) for e in raw.enqueue),
        train_fn=raw.train_fn,
        storage_proxy=proxy,
    )


def read_launcher(launcher: Mapping[str, Any] | DictConfig) -> LocalLauncher | SlurmLauncher:
    """Checks a ``launcher`` block (``conf/launcher/<name>.yaml``) and returns it typed.

    Raises:
        ValueError: for an unknown launcher name, or a bad key or value.
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
    if isinstance(block, SlurmLauncher):
        for key in ("signal_delay_s", "max_num_timeout"):
            if getattr(block, key) < 0:
                raise ValueError(f"launcher.{key} must be >= 0, got {getattr(block, key)}")
    return block
