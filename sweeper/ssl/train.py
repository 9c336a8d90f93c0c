"""One training run: ``train(cfg, run_dir)`` in-process, and ``rankme-sweeper train``.

``train`` builds the parts (:mod:`sweeper.ssl.build`), runs Lightning, and writes
``run_dir/config.yaml``, ``run_dir/metrics.json`` and checkpoints under
``run_dir/<checkpoint.dir>`` (``last.ckpt`` plus one every ``checkpoint.frequency`` epochs).
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.utilities import rank_zero_only
from omegaconf import DictConfig, OmegaConf

from sweeper.metrics.registry import RECORDED
from sweeper.metrics.run_record import Divergence, RunRecord, Timings
from sweeper.runtime import set_torch_threads
from sweeper.ssl.build import Parts, bank_loader, build_parts, checked_config
from sweeper.ssl.loggers import build_loggers, hyperparameters
from sweeper.ssl.module import Diverged, EpochCheckpoint, SSLModule
from sweeper.ssl.monitor import LidarViews, OnMonitor, RankMeMonitor
from sweeper.ssl.monitor_settings import MonitorSettings, read_monitor
from sweeper.ssl.progress import progress_callback
from sweeper.ssl.resume import resume_path

__all__ = ["train"]

# Final values every record holds, null when the run never measured them (LiDAR, IdEst and
# the other peers only appear once measured).
ALWAYS_RECORDED = ("rankme", "rankme_projector")

# Lightning's advice that does not apply here: in-memory digits need no workers, a Slurm
# node may run a worker outside srun, a 4-batch epoch logs less often than every 50 steps.
QUIET = (".*does not have many workers.*", ".*The `srun` command is available.*",
         ".*smaller than the logging interval.*", ".*LeafSpec.*")


def _precision(value: Any) -> str:
    """solo-learn writes 16 / 32 / bf16; Lightning wants e.g. "16-mixed"."""
    text = str(value)
    return {"16": "16-mixed", "bf16": "bf16-mixed", "32": "32-true", "64": "64-true"}.get(
        text, text)


def _devices(value: Any) -> Any:
    return OmegaConf.to_container(value) if OmegaConf.is_config(value) else value


def train(cfg: DictConfig, run_dir: Path, on_monitor: OnMonitor | None = None
          ) -> dict[str, Any]:
    """Run one JE-SSL training in this process and return its ``metrics.json`` content.

    Args:
        cfg: a config composed from ``conf/train.yaml`` (or a solo-learn pretrain file).
        run_dir: where config.yaml, metrics.json and checkpoints go (created).
        on_monitor: called as ``on_monitor(epoch, metrics)`` after each monitor step
            (metrics: ``rankme``, ``rankme_projector`` and peers); returns None to go on,
            or a status (e.g. ``"pruned"``) that ends the run after this epoch.

    Returns:
        The run's :class:`~sweeper.metrics.run_record.RunRecord` as a dict: ``status``
        ("completed" | "diverged" | the status ``on_monitor`` returned), the final metrics,
        ``epochs``, ``global_step``, ``history``, ``timings``, ``run_dir``, ``method``.

    Raises:
        ConfigError: for a bad config, before any work starts.
        ValueError: for unreadable data.
    """
    cfg = checked_config(cfg)  # the one check: build_parts takes it as checked
    mon = read_monitor(cfg.monitor)
    with warnings.catch_warnings():
        for pattern in QUIET:
            warnings.filterwarnings("ignore", message=pattern)
        return _run(cfg, mon, Path(run_dir), on_monitor).to_dict()


@dataclass
class _Fit:
    """What ``trainer.fit`` ended with: its wall-clock seconds, and where it diverged."""

    seconds: float
    diverged: Divergence | None


def _run(cfg: DictConfig, mon: MonitorSettings, run_dir: Path, on_monitor: OnMonitor | None
         ) -> RunRecord:
    """Build the run, fit it, measure it, write its record (rank 0), and return the record."""
    ckpt_dir = run_dir / str(cfg.checkpoint.dir)
    ckpt_path = resume_path(cfg, ckpt_dir / "last.ckpt")  # before config.yaml: may refuse
    run_dir.mkdir(parents=True, exist_ok=True)
    if getattr(rank_zero_only, "rank", 0) == 0:  # other DDP ranks (from the environment) read
        OmegaConf.save(cfg, run_dir / "config.yaml", resolve=True)
    set_torch_threads(cfg.get("num_threads"))
    L.seed_everything(int(cfg.seed), workers=True, verbose=False)
    parts = build_parts(cfg)
    if cfg.compile:
        parts.method.backbone = torch.compile(parts.method.backbone)  # type: ignore[assignment]
    module = SSLModule(cfg, parts.method, parts.views, parts.train_set)
    monitor = _monitor(cfg, mon, parts, on_monitor)
    trainer = _trainer(cfg, run_dir, ckpt_dir, monitor)
    fit = _fit(trainer, module, ckpt_path)
    record = _record(cfg, run_dir, ckpt_dir, module, trainer, monitor, fit)
    if trainer.is_global_zero:  # same values on every DDP rank: rank 0 writes them
        record.write(run_dir)
    return record


def _monitor(cfg: DictConfig, mon: MonitorSettings, parts: Parts,
             on_monitor: OnMonitor | None) -> RankMeMonitor:
    """The RankMe monitor on its two banks (per epoch, and the final objective)."""
    def bank(size: int) -> Any:
        return bank_loader(parts.train_set, size, mon.seed, mon.batch_size,
                           num_workers=int(cfg.data.num_workers),
                           pin_memory=str(cfg.accelerator) != "cpu")

    lidar = mon.lidar
    return RankMeMonitor(
        bank(mon.bank_size), parts.eval_view, every_n_epochs=mon.every_n_epochs,
        enabled=mon.enabled, on_monitor=on_monitor, objective_bank=bank(mon.objective_bank_size),
        lidar=LidarViews(parts.views, lidar.n_images, lidar.n_augmentations, lidar.delta)
        if lidar.enabled else None,
        idest_images=mon.idest.n_images if mon.idest.enabled else None, idest_seed=mon.seed)


def _trainer(cfg: DictConfig, run_dir: Path, ckpt_dir: Path, monitor: RankMeMonitor
             ) -> L.Trainer:
    """Lightning's trainer with the monitor, progress, checkpoints and loggers of ``cfg``."""
    callbacks: list[Any] = [monitor, progress_callback(bool(cfg.enable_progress_bar))]
    if cfg.checkpoint.enabled:
        callbacks.append(EpochCheckpoint(
            dirpath=ckpt_dir, filename="epoch={epoch}", auto_insert_metric_name=False,
            # last.ckpt: a relative link to the newest epoch=<n>.ckpt, not a second copy
            every_n_epochs=int(cfg.checkpoint.frequency), save_last="link",
            save_top_k=-1 if cfg.checkpoint.keep_prev else 1, save_on_train_epoch_end=True,
            enable_version_counter=False))
    loggers = build_loggers(cfg, run_dir)
    hparams = hyperparameters(cfg)
    for logger in loggers:
        logger.log_hyperparams(hparams)
    return L.Trainer(
        max_epochs=int(cfg.max_epochs), accelerator=str(cfg.accelerator),
        devices=_devices(cfg.devices), strategy=str(cfg.strategy),
        precision=_precision(cfg.precision),  # type: ignore[arg-type]
        sync_batchnorm=bool(cfg.sync_batchnorm), callbacks=callbacks,
        logger=loggers,
        enable_checkpointing=bool(cfg.checkpoint.enabled),
        enable_progress_bar=bool(cfg.enable_progress_bar), enable_model_summary=False,
        num_sanity_val_steps=0, limit_val_batches=0,
        limit_train_batches=cfg.limit_train_batches,
        log_every_n_steps=int(cfg.log_every_n_steps), use_distributed_sampler=False,
        default_root_dir=str(run_dir))


def _fit(trainer: L.Trainer, module: SSLModule, ckpt_path: Any) -> _Fit:
    """``trainer.fit``, timed; a divergence ends the run as a result, not an error."""
    started, diverged = time.perf_counter(), None
    try:
        trainer.fit(module, ckpt_path=ckpt_path)
    except Diverged as exc:
        diverged = Divergence(epoch=exc.epoch, step=exc.step, loss=str(exc.loss),
                              reason=exc.reason or None)
    return _Fit(time.perf_counter() - started, diverged)


def _record(cfg: DictConfig, run_dir: Path, ckpt_dir: Path, module: SSLModule,
            trainer: L.Trainer, monitor: RankMeMonitor, fit: _Fit) -> RunRecord:
    """The run's metrics.json: its status, final values, sizes, history and timings."""
    status = ("diverged" if fit.diverged else
              monitor.stop_status if monitor.stop_status is not None else "completed")
    # The objective bank's values; a run stopped early has only its last monitor step's.
    final = monitor.objective or (monitor.history[-1] if monitor.history else {})
    last = ckpt_dir / "last.ckpt"
    return RunRecord(
        status=status, method=str(cfg.method), run_dir=str(run_dir),
        values={k: final.get(k) for k in RECORDED if k in final or k in ALWAYS_RECORDED},
        objective_bank_size=_bank_size(final),
        objective_from="objective bank" if monitor.objective else "last monitor step",
        monitor_bank_size=_bank_size(monitor.history[-1] if monitor.history else {}),
        lr_scaled=module.scaled_lr(),  # optimizer.lr x batch_size x devices / 256
        epochs=int(trainer.current_epoch), global_step=int(trainer.global_step),
        world_size=int(trainer.world_size),
        resumed_from_epoch=monitor.resumed_epochs,  # 0: trained from scratch here
        history=monitor.history,
        timings=Timings(
            fit_seconds=round(fit.seconds, 3),
            train_seconds=round(monitor.train_seconds, 3),
            monitor_seconds=round(monitor.monitor_seconds, 3),
            objective_seconds=round(monitor.objective_seconds, 3),
            epoch_seconds=monitor.epoch_seconds,
            monitor_call_seconds=monitor.call_seconds,
            monitor_share=(round(monitor.monitor_seconds / monitor.train_seconds, 4)
                           if monitor.train_seconds > 0 else None)),
        checkpoint=str(last) if last.is_file() else None,
        diverged=fit.diverged)


def _bank_size(metrics: dict[str, float]) -> int | None:
    return int(metrics["bank_size"]) if "bank_size" in metrics else None
