"""The Lightning module: one JE-SSL method, its views, optimizer, schedule and EMA."""

from __future__ import annotations

import math
from contextlib import nullcontext
from typing import Any

import lightning as L
import torch
from lightly.models.utils import update_momentum
from lightly.utils.scheduler import cosine_schedule
from lightning.pytorch.callbacks import ModelCheckpoint
from omegaconf import DictConfig, OmegaConf

from sweeper.ssl.backbones import variant_method
from sweeper.ssl.data.images import ImageSet, TensorImages
from sweeper.ssl.data.loader import EpochBatchSampler, make_loader
from sweeper.ssl.data.on_device import DeviceBatches, use_on_device
from sweeper.ssl.data.views import BatchViews
from sweeper.ssl.lars_foreach import ForeachLARS
from sweeper.ssl.methods import SSLMethod
from sweeper.ssl.optim import build_optimizer, group_lambdas, lr_lambda, scaled_lr

__all__ = ["Diverged", "EpochCheckpoint", "SSLModule"]


class Diverged(RuntimeError):
    """The training loss, or the monitor's embeddings of the bank, became NaN or Inf.

    ``epoch`` counts from 1, as metrics.json's history does; ``reason`` says what was not
    finite (None: the loss).
    """

    def __init__(self, epoch: int, step: int, loss: float, reason: str | None = None) -> None:
        where = f"at epoch {epoch}, step {step}"
        super().__init__(f"training diverged: {reason} {where}" if reason
                         else f"training diverged: loss = {loss} {where}")
        self.epoch, self.step, self.loss, self.reason = epoch, step, loss, reason


class EpochCheckpoint(ModelCheckpoint):
    """Lightning's checkpoint callback with ``{epoch}`` in file names counted from 1, as
    metrics.json's history and the loggers count: ``epoch=3.ckpt`` holds 3 epochs."""

    def format_checkpoint_name(self, metrics: dict[str, Any], *args: Any,
                               **kwargs: Any) -> str:
        if "epoch" in metrics:
            metrics = {**metrics, "epoch": metrics["epoch"] + 1}
        return super().format_checkpoint_name(metrics, *args, **kwargs)


class SSLModule(L.LightningModule):
    """Trains ``method`` on views of batches from ``train_set``.

    Views are made on the device after the transfer (:class:`BatchViews`), so the loader only
    moves un-augmented images. A non-finite loss raises :class:`Diverged` before backward.
    """

    def __init__(self, cfg: DictConfig, method: SSLMethod, views: BatchViews,
                 train_set: ImageSet) -> None:
        super().__init__()
        self.cfg, self.method, self.views, self.train_set = cfg, method, views, train_set
        self.channels_last = (str(cfg.accelerator) not in ("cpu",)
                              and not bool(cfg.performance.disable_channel_last))
        if self.channels_last:
            self.method.to(memory_format=torch.channels_last)

    def steps_per_epoch(self) -> int:
        world = self.trainer.world_size if self._trainer is not None else 1
        n = len(self.train_set) // (int(self.cfg.optimizer.batch_size) * world)
        limit = self.cfg.limit_train_batches
        if limit is not None:
            n = min(n, int(limit) if float(limit) >= 1 else max(1, int(n * float(limit))))
        return max(1, n)

    def train_dataloader(self) -> Any:
        sampler = EpochBatchSampler(
            len(self.train_set), int(self.cfg.optimizer.batch_size), seed=int(self.cfg.seed),
            num_replicas=self.trainer.world_size, rank=self.trainer.global_rank)
        # Lightning makes the first iterator before it sets the epoch: a resumed run would
        # replay epoch 0's batches.
        sampler.set_epoch(int(self.trainer.fit_loop.epoch_progress.current.processed))  # type: ignore[attr-defined]
        if use_on_device(self.cfg.data, self.train_set, self.device):
            assert isinstance(self.train_set, TensorImages)
            return DeviceBatches(self.train_set, sampler, self.device,
                                 sample_ids=self.method.uses_sample_ids)
        return make_loader(self.train_set, sampler, num_workers=int(self.cfg.data.num_workers),
                           pin_memory=str(self.cfg.accelerator) not in ("cpu",),
                           sample_ids=self.method.uses_sample_ids)

    def on_train_epoch_start(self) -> None:
        self.method.start_epoch(int(self.current_epoch), len(self.train_set),
                                self.steps_per_epoch() * int(self.cfg.optimizer.batch_size))

    def scaled_lr(self) -> float:
        """The base learning rate, scaled by batch size x devices / 256 as solo-learn does."""
        world = self.trainer.world_size if self._trainer is not None else 1
        return scaled_lr(float(self.cfg.optimizer.lr), int(self.cfg.optimizer.batch_size), world)

    def configure_optimizers(self) -> Any:
        lr = self.scaled_lr()
        opt = build_optimizer(self.method, self.cfg.optimizer, lr=lr,
                              static_lr_modules=self.method.static_lr_modules(),
                              own_lr_modules=self.method.own_lr_modules(),
                              # no host sync per parameter on a GPU; the same update
                              lars=ForeachLARS if self.device.type == "cuda" else None)
        steps, epochs = self.steps_per_epoch(), int(self.cfg.max_epochs)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, group_lambdas(
            opt, lr, lambda peak: lr_lambda(self.cfg.scheduler, peak, steps, epochs)))
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        images = batch[0]
        if self.channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        with torch.no_grad():
            views = self.views(images)
        ids = {"sample_ids": batch[2]} if self.method.uses_sample_ids else {}
        loss = self.method.loss(views, int(self.current_epoch), **ids)
        value = float(loss.detach())
        if not math.isfinite(value):
            raise Diverged(int(self.current_epoch) + 1, int(self.global_step), value)
        self.log("train_loss", loss.detach(), prog_bar=True, on_step=True, on_epoch=True,
                 sync_dist=False)
        return loss

    def on_after_backward(self) -> None:
        self.method.after_backward(int(self.current_epoch))

    def on_train_batch_end(self, outputs: Any, batch: Any, batch_idx: int) -> None:
        pairs = self.method.momentum_pairs()
        if not pairs:
            return
        m = self.cfg.momentum
        total = self.steps_per_epoch() * int(self.cfg.max_epochs)
        step = min(int(self.global_step), total)
        tau = cosine_schedule(step, total, float(m.base_tau), float(m.final_tau))
        for online, target in pairs:
            update_momentum(online, target, m=tau)
        self.log("tau", tau, on_step=True, on_epoch=False)

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["rankme_sweeper"] = {
            "config": OmegaConf.to_container(self.cfg, resolve=True),
            "feat_dim": int(self.method.feat_dim),
            # whose backbone variant was built (mocov3's and mae's ViTs): None, the plain one
            "backbone_method": variant_method(str(self.cfg.method),
                                              str(self.cfg.backbone.name)),
            # the views draw from the global RNG: a resumed run continues its sequence
            "rng": {"cpu": torch.get_rng_state(),
                    "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []},
        }

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        rng = checkpoint.get("rankme_sweeper", {}).get("rng")
        if rng is None:
            return
        torch.set_rng_state(rng["cpu"])
        if rng["cuda"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(rng["cuda"])

    def autocast(self) -> Any:
        """bf16 autocast on the device when the precision asks for it, else a no-op."""
        if "bf16" in str(self.cfg.precision):
            return torch.autocast(self.device.type, dtype=torch.bfloat16)
        return nullcontext()
