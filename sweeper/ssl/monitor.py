"""RankMe while training and at the end: a Lightning callback over fixed banks of images.

Two banks of un-augmented training images, as the paper keeps them apart: the objective a
run reports is measured once, after its last epoch, on a large bank (``monitor.
objective_bank_size``, 25,600 images as in the paper, or the whole split when smaller);
the per-epoch values the pruner reads come from a smaller bank (``monitor.bank_size``)
every ``monitor.every_n_epochs`` epochs (and after the last one), so they stay cheap.
A run stopped early (pruned) gets no objective. Each time, the bank goes through the
backbone and the projector in eval mode; both embeddings stream into
:class:`~sweeper.metrics.SpectrumAccumulator` (no N x K matrix is kept) and give RankMe and
its peers (:func:`~sweeper.metrics.spectral_metrics`), optionally LiDAR and IdEst.
When the bank has fewer images than an embedding has dimensions, the accumulator solves
the smaller N x N form of the same spectrum by itself. The results are logged,
kept in ``history`` (saved in checkpoints) and passed to ``on_monitor(epoch, metrics)``,
which may stop the run by returning a status such as ``"pruned"``.

Under DDP each rank embeds every world-size-th batch of a bank (no row twice, none padded),
the ranks' second moments are all-reduced (:func:`~sweeper.metrics.distributed.
all_reduce_spectrum`), rank 0 computes the metrics (LiDAR, IdEst: on the whole bank) once and
broadcasts them: every rank logs and keeps the same values, equal to one process's on the
same bank up to float64 rounding. ``on_monitor`` runs on rank 0 only; its status stops
every rank.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import lightning as L
import torch

from sweeper.metrics import SpectrumAccumulator, lidar, spectral_metrics
from sweeper.metrics.accumulator import NonFiniteEmbeddings
from sweeper.metrics.distributed import (
    all_reduce_spectrum,
    broadcast_buffers,
    first_failure,
    from_rank_zero,
    rank_and_world,
)
from sweeper.metrics.idest import MIN_ROWS, idest
from sweeper.metrics.registry import SPECTRAL
from sweeper.ssl.data.loader import EpochBatchSampler, make_loader
from sweeper.ssl.data.views import BatchViews, EvalView
from sweeper.ssl.module import Diverged

if TYPE_CHECKING:
    from sweeper.ssl.methods import SSLMethod

__all__ = ["PEERS", "LidarViews", "OnMonitor", "RankMeMonitor", "embedding_metrics"]

PEERS = SPECTRAL
# on_monitor(epoch, metrics) -> None to go on, or a status (e.g. "pruned") that stops the run
# after this epoch; the run keeps its last checkpoint and metrics.json records the status.
OnMonitor = Callable[[int, dict[str, float]], str | None]


@dataclass(frozen=True)
class LidarViews:
    """What LiDAR is measured on: ``n_augmentations`` views (``views``) of each of the
    monitor bank's first ``n_images`` images, with ridge ``delta``."""

    views: BatchViews
    n_images: int
    n_augmentations: int
    delta: float


def embedding_metrics(features: SpectrumAccumulator, projections: SpectrumAccumulator
                      ) -> dict[str, float]:
    """RankMe and peers of backbone features, and the same with ``_projector`` appended."""
    out: dict[str, float] = {}
    for suffix, acc in (("", features), ("_projector", projections)):
        m = spectral_metrics(acc)
        out.update({f"{k}{suffix}": float(m[k]) for k in PEERS})
        out[f"dim{suffix}"] = float(m["dim"])
    out["bank_size"] = float(features.n)
    return out


class RankMeMonitor(L.Callback):
    """Measures RankMe and peers on ``bank`` every ``every_n_epochs`` epochs.

    Args:
        bank: iterable of ``(images, labels)`` batches, the same images every time.
        objective_bank: the large bank measured once when training ends normally (not when
            stopped early); None: no objective measurement.
        eval_view: the un-augmented transform (centre crop + normalize).
        every_n_epochs: measure after epochs ``n, 2n, ...`` and after the last epoch.
        on_monitor: called with ``(epoch, metrics)``; returns None to go on, or a status
            (e.g. ``"pruned"``) that stops the run after this epoch.
        lidar: what LiDAR is measured on (None: no LiDAR).
        idest_images: IdEst of the backbone features of the measured bank's first this many
            images, seeded by ``idest_seed`` (None: no IdEst).
        enabled: when False only the epochs are timed (``epoch_seconds``), nothing measured.

    ``every_n_epochs``, ``enabled`` and LiDAR's settings have no defaults here: they are
    ``monitor.*`` in conf/train.yaml.
    """

    def __init__(self, bank: Iterable[Any], eval_view: EvalView, *, every_n_epochs: int,
                 enabled: bool, on_monitor: OnMonitor | None = None,
                 objective_bank: Iterable[Any] | None = None,
                 lidar: LidarViews | None = None, idest_images: int | None = None,
                 idest_seed: int = 0) -> None:
        if every_n_epochs < 1:
            raise ValueError(f"monitor.every_n_epochs must be >= 1, got {every_n_epochs}")
        if idest_images is not None and idest_images < MIN_ROWS:
            raise ValueError(f"monitor.idest.n_images must be >= {MIN_ROWS}, got {idest_images}")
        self.idest_images, self.idest_seed = idest_images, idest_seed
        self.bank, self.eval_view, self.every = bank, eval_view, every_n_epochs
        self.objective_bank = objective_bank
        self.objective: dict[str, float] = {}
        self.objective_seconds = 0.0
        self.on_monitor = on_monitor
        self.lidar = lidar
        self.enabled = enabled
        self.history: list[dict[str, float]] = []
        self.epoch_seconds: list[float] = []
        self.call_seconds: list[float] = []
        self.monitor_seconds = 0.0
        self.train_seconds = 0.0
        self.stop_status: str | None = None
        self.resumed_epochs = 0  # epochs a resumed run had done before this process
        self._epoch_start = 0.0
        self._shards: dict[int, Iterable[Any]] = {}  # id(bank) -> this rank's batches

    def state_dict(self) -> dict[str, Any]:
        return {"history": self.history, "monitor_seconds": self.monitor_seconds,
                "train_seconds": self.train_seconds, "epoch_seconds": self.epoch_seconds,
                "call_seconds": self.call_seconds}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.history = list(state_dict.get("history", []))
        self.monitor_seconds = float(state_dict.get("monitor_seconds", 0.0))
        self.train_seconds = float(state_dict.get("train_seconds", 0.0))
        self.epoch_seconds = list(state_dict.get("epoch_seconds", []))
        self.call_seconds = list(state_dict.get("call_seconds", []))

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # After Lightning restored a checkpoint's state (a resumed run): the epochs done
        # before, and their monitor values reported again (a retried trial's are empty).
        self.resumed_epochs = len(self.epoch_seconds)
        if self.on_monitor is None:
            return
        on_monitor = self.on_monitor
        for entry in self.history:
            epoch = int(entry["epoch"])
            values = {k: v for k, v in entry.items() if k != "epoch"}
            status = from_rank_zero(lambda: on_monitor(epoch, values))  # noqa: B023
            if status is not None:
                self.stop_status, trainer.should_stop = status, True
                break

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._epoch_start = time.perf_counter()

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        _sync(pl_module.device)
        seconds = time.perf_counter() - self._epoch_start
        self.train_seconds += seconds
        self.epoch_seconds.append(round(seconds, 4))
        epoch = int(trainer.current_epoch) + 1
        if not self.enabled or (epoch % self.every and epoch != trainer.max_epochs):
            return
        started = time.perf_counter()
        metrics = self.measure(pl_module)
        _sync(pl_module.device)
        seconds = time.perf_counter() - started
        self.monitor_seconds += seconds
        self.call_seconds.append(round(seconds, 4))
        self.history.append({"epoch": epoch, **metrics})
        pl_module.log_dict({f"monitor/{k}": v for k, v in metrics.items()
                            if v == v and abs(v) != float("inf")}, on_epoch=True,
                            sync_dist=True)  # the same on every rank: the mean is exact
        on_monitor = self.on_monitor
        status = None if on_monitor is None else from_rank_zero(
            lambda: on_monitor(epoch, metrics))
        if status is not None:
            if not isinstance(status, str) or not status:
                raise TypeError(f"on_monitor returns None or a status such as 'pruned', "
                                f"got {status!r}")
            self.stop_status = status
            trainer.should_stop = True

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # Still on the training device here (Lightning moves the model off it afterwards).
        if not self.enabled or self.objective_bank is None or self.stop_status is not None:
            return
        started = time.perf_counter()
        self.objective = self.measure(pl_module, self.objective_bank)
        _sync(pl_module.device)
        self.objective_seconds = time.perf_counter() - started

    @torch.inference_mode()
    def measure(self, pl_module: L.LightningModule, bank: Iterable[Any] | None = None
                ) -> dict[str, float]:
        """Metrics of a bank's backbone features and projector outputs (eval mode).

        Args:
            pl_module: the training module.
            bank: the images; the per-epoch bank by default. LiDAR, when configured,
                always uses the per-epoch bank's first ``lidar.n_images`` images.
        """
        method = cast("SSLMethod", pl_module.method)
        was_training = method.training
        method.eval()
        feats, projs = SpectrumAccumulator(), SpectrumAccumulator()
        rank, world = rank_and_world()
        broadcast_buffers(method)
        failure = ""
        try:
            with pl_module.autocast():  # type: ignore[operator]
                for images, _ in self._shard(self.bank if bank is None else bank, rank, world):
                    x = self.eval_view(images.to(pl_module.device, non_blocking=True))
                    f, p = method.embed(x)
                    try:
                        feats.update(f.float())
                        projs.update(p.float())
                    except NonFiniteEmbeddings as exc:
                        failure = f"monitor: {exc}"
                        break
                failure = first_failure(failure, world)
                if failure:
                    # The loss can still be finite (eval-mode BatchNorm statistics blow
                    # up first): the run has diverged all the same.
                    trainer = pl_module.trainer
                    raise Diverged(int(trainer.current_epoch) + 1, int(trainer.global_step),
                                   float("nan"), reason=failure)
                feats = all_reduce_spectrum(feats, pl_module.device)
                projs = all_reduce_spectrum(projs, pl_module.device)
                lidar_spec = self.lidar

                def compute() -> dict[str, float]:
                    metrics = embedding_metrics(feats, projs)
                    if lidar_spec is not None:
                        metrics["lidar"] = self._lidar(pl_module, method, lidar_spec)
                    if self.idest_images is not None:
                        metrics["idest"] = self._idest(pl_module, method, self.bank
                                                       if bank is None else bank)
                    return metrics

                metrics = from_rank_zero(compute)
        finally:
            method.train(was_training)
        return metrics

    def _shard(self, bank: Iterable[Any], rank: int, world: int) -> Iterable[Any]:
        """This rank's batches of ``bank``: every ``world``-th one from batch ``rank``; a
        bank from :func:`~sweeper.ssl.build.bank_loader` loads only those."""
        if world == 1:
            return bank
        if id(bank) not in self._shards:
            sampler = getattr(bank, "sampler", None)
            if isinstance(sampler, EpochBatchSampler):
                loader = cast("Any", bank)
                self._shards[id(bank)] = make_loader(
                    loader.dataset, EpochBatchSampler(
                        sampler.n, sampler.batch_size, shuffle=False, drop_last=False,
                        num_replicas=world, rank=rank),
                    num_workers=loader.num_workers, pin_memory=loader.pin_memory)
            else:
                return itertools.islice(bank, rank, None, world)
        return self._shards[id(bank)]

    def _lidar(self, pl_module: L.LightningModule, method: Any, spec: LidarViews) -> float:
        chunks = []
        for images in _first_images(self.bank, spec.n_images, pl_module.device):
            views: list[torch.Tensor] = []
            while len(views) < spec.n_augmentations:
                views += spec.views(images)
            chunks.append(torch.stack([method(v).float()
                                       for v in views[: spec.n_augmentations]], 1))
        return float(lidar(torch.cat(chunks), delta=spec.delta))

    def _idest(self, pl_module: L.LightningModule, method: Any, bank: Iterable[Any]) -> float:
        assert self.idest_images is not None
        feats = [method.embed(self.eval_view(x))[0].float().cpu()
                 for x in _first_images(bank, self.idest_images, pl_module.device)]
        return float(idest(torch.cat(feats), seed=self.idest_seed))


def _first_images(bank: Iterable[Any], n: int, device: torch.device) -> Iterator[torch.Tensor]:
    """The bank's first ``n`` images on ``device``, in the bank's batches."""
    taken = 0
    for images, _ in bank:
        if taken >= n:
            return
        yield images[: n - taken].to(device)
        taken += min(int(images.shape[0]), n - taken)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
