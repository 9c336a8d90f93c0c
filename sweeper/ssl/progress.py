"""Training progress: Lightning's rich progress bar on a terminal, one log line per epoch
elsewhere (a file, a pipe, a worker's log), where a bar would only write control characters.

Example:
    >>> EpochLines().line(epoch=3, max_epochs=20, loss=4.1234, rankme=39.441, seconds=12.34)
    'epoch 3/20  loss 4.123  RankMe 39.44  12.3 s'
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import RichProgressBar

from sweeper.ssl.monitor import RankMeMonitor

__all__ = ["EpochLines", "progress_callback"]

log = logging.getLogger("sweeper.train")


class EpochLines(L.Callback):
    """Logs ``epoch E/N  loss L  RankMe R  S s`` after each epoch (INFO, ``sweeper.train``).

    Epochs count from 1, as in ``metrics.json``. The loss is the mean of the epoch's
    training-step losses; RankMe is the :class:`~sweeper.ssl.monitor.RankMeMonitor`'s when it
    measured this epoch (left out otherwise); the seconds include the monitor's.
    """

    def __init__(self) -> None:
        self._started = 0.0
        self._loss_sum = 0.0
        self._steps = 0

    @staticmethod
    def line(*, epoch: int, max_epochs: int, loss: float | None, rankme: float | None,
             seconds: float) -> str:
        """The line for one epoch."""
        parts = [f"epoch {epoch}/{max_epochs}"]
        if loss is not None:
            parts.append(f"loss {loss:.4g}")
        if rankme is not None and math.isfinite(rankme):
            parts.append(f"RankMe {rankme:.4g}")
        parts.append(f"{seconds:.1f} s")
        return "  ".join(parts)

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._started, self._loss_sum, self._steps = time.perf_counter(), 0.0, 0

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule,
                           outputs: Any, batch: Any, batch_idx: int) -> None:
        loss = outputs.get("loss") if isinstance(outputs, dict) else outputs
        if isinstance(loss, torch.Tensor):
            self._loss_sum += float(loss.detach())
            self._steps += 1

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not trainer.is_global_zero:
            return
        epoch = int(trainer.current_epoch) + 1
        rankme = None
        for callback in trainer.callbacks:  # type: ignore[attr-defined]
            if isinstance(callback, RankMeMonitor) and callback.history \
                    and callback.history[-1].get("epoch") == epoch:
                rankme = callback.history[-1].get("rankme")
        log.info(self.line(epoch=epoch, max_epochs=int(trainer.max_epochs or 0),
                           loss=self._loss_sum / self._steps if self._steps else None,
                           rankme=rankme, seconds=time.perf_counter() - self._started))


def progress_callback(bar: bool) -> L.Callback:
    """Lightning's :class:`~lightning.pytorch.callbacks.RichProgressBar` when ``bar`` (the
    trainer's ``enable_progress_bar``), else :class:`EpochLines`."""
    if bar:
        return RichProgressBar()
    return EpochLines()
