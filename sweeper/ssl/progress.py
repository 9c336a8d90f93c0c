"""Training progress: Lightning's rich progress bar on a terminal, one log line per epoch
elsewhere (a file, a pipe, a worker's log), where a bar would only write control characters.

Both count epochs from 1, as ``metrics.json`` does; RankMe names the bank it was measured on.

Example:
    >>> EpochLines().line(epoch=3, max_epochs=20, loss=4.1234, rankme=39.441, seconds=12.34,
    ...                   bank=1024)
    'epoch 3/20  loss 4.123  RankMe 39.44 (monitor bank, 1,024 images)  12.3 s'
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

__all__ = ["EpochBar", "EpochLines", "bank_label", "progress_callback"]

log = logging.getLogger("sweeper.train")


def bank_label(bank: str, images: int | None) -> str:
    """Which embeddings a RankMe was measured on: ``monitor bank, 1,024 images`` (the
    per-epoch bank) or ``objective bank, ...`` (the final one)."""
    return bank if images is None else f"{bank}, {images:,} images"


class EpochBar(RichProgressBar):
    """Lightning's rich bar, its epochs counted from 1 (``Epoch 1/1`` for one epoch, where
    Lightning writes ``Epoch 0/0``), as the log lines and ``metrics.json`` count them."""

    def _get_train_description(self, current_epoch: int) -> str:
        shown = super()._get_train_description(current_epoch + 1)
        total = self.trainer.max_epochs
        if total is None or total < 0:
            return shown
        # Lightning writes "Epoch {e}/{max_epochs - 1}", padded to a fixed width
        return shown.replace(f"/{total - 1}", f"/{total}", 1)


class EpochLines(L.Callback):
    """Logs ``epoch E/N  loss L  RankMe R (monitor bank, B images)  S s`` after each epoch
    (INFO, ``sweeper.train``).

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
             seconds: float, bank: int | None = None) -> str:
        """The line for one epoch (``bank``: the images RankMe was measured on)."""
        parts = [f"epoch {epoch}/{max_epochs}"]
        if loss is not None:
            parts.append(f"loss {loss:.4g}")
        if rankme is not None and math.isfinite(rankme):
            parts.append(f"RankMe {rankme:.4g} ({bank_label('monitor bank', bank)})")
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
        rankme, bank = None, None
        for callback in trainer.callbacks:  # type: ignore[attr-defined]
            if isinstance(callback, RankMeMonitor) and callback.history \
                    and callback.history[-1].get("epoch") == epoch:
                rankme = callback.history[-1].get("rankme")
                size = callback.history[-1].get("bank_size")
                bank = None if size is None else int(size)
        log.info(self.line(epoch=epoch, max_epochs=int(trainer.max_epochs or 0),
                           loss=self._loss_sum / self._steps if self._steps else None,
                           rankme=rankme, seconds=time.perf_counter() - self._started,
                           bank=bank))


def progress_callback(bar: bool) -> L.Callback:
    """:class:`EpochBar` (Lightning's rich bar) when ``bar`` (the trainer's
    ``enable_progress_bar``), else :class:`EpochLines`."""
    if bar:
        return EpochBar()
    return EpochLines()
