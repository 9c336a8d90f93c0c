"""What one training run records in ``run_dir/metrics.json``, as one typed record.

The training (:func:`sweeper.ssl.train`) writes it, and returns its content; the study
(which trials ``compare`` can evaluate), the oracle's report rows and the ``train`` command
read it. The file is one flat JSON object: a metric's final value sits under its registry
name (:data:`~sweeper.metrics.registry.RECORDED`), beside the run's status, sizes, history
and timings; a non-finite number is written as null (JSON has no Infinity).

Another ``sweep.train_fn`` may write a file of its own with only some of these keys (a
``status`` and a ``rankme``, say): whatever it lacks reads as None or empty.

Example:
    >>> record = RunRecord(status="completed", method="simclr", values={"rankme": 12.5})
    >>> RunRecord.from_dict(record.to_dict()) == record
    True
    >>> list(record.to_dict())[:4]
    ['status', 'method', 'run_dir', 'rankme']
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from sweeper.metrics.measures import finite_or_none
from sweeper.metrics.registry import RECORDED

__all__ = ["METRICS_FILE", "Divergence", "RunRecord", "Timings"]

METRICS_FILE = "metrics.json"


@dataclass
class Divergence:
    """Where a diverged run stopped: ``epoch`` counts from 1, as the history does;
    ``reason`` says what was not finite (None: the training loss, ``loss``)."""

    epoch: int | None = None
    step: int | None = None
    loss: str | None = None
    reason: str | None = None

    @property
    def what(self) -> str:
        """What was not finite, for a message: the reason, else the loss's value."""
        return self.reason or f"loss {self.loss}"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"epoch": self.epoch, "step": self.step, "loss": self.loss}
        if self.reason:
            out["reason"] = self.reason
        return out

    @classmethod
    def from_dict(cls, data: Any) -> Divergence | None:
        """The divergence a file records; None for none (or an empty object)."""
        if not isinstance(data, Mapping) or not data:
            return None
        return cls(**{f.name: data.get(f.name) for f in fields(cls)})


@dataclass
class Timings:
    """Wall-clock seconds of a run: ``fit_seconds`` the whole ``trainer.fit``, the others
    summed (or listed per epoch and per monitor call) by the monitor; ``monitor_share`` is
    ``monitor_seconds / train_seconds``."""

    fit_seconds: float | None = None
    train_seconds: float | None = None
    monitor_seconds: float | None = None
    objective_seconds: float | None = None
    epoch_seconds: list[float] = field(default_factory=list)
    monitor_call_seconds: list[float] = field(default_factory=list)
    monitor_share: float | None = None

    @classmethod
    def from_dict(cls, data: Any) -> Timings:
        if not isinstance(data, Mapping):
            return cls()
        return cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data})


@dataclass
class RunRecord:
    """The content of one run's ``metrics.json``.

    Attributes:
        status: "completed", "diverged", or what ``on_monitor`` returned (e.g. "pruned").
        method: the SSL method's name.
        run_dir: the run's folder.
        values: the final value of each recorded metric by its registry name, in
            :data:`~sweeper.metrics.registry.RECORDED` order (None: not finite).
        objective_bank_size: images behind ``values``.
        objective_from: "objective bank", or "last monitor step" for a run stopped early.
        monitor_bank_size: images behind each ``history`` entry.
        lr_scaled: the optimizer's learning rate x batch size x devices / 256.
        epochs, global_step: where training ended.
        world_size: the training's processes (DDP ranks; 1 for one device).
        resumed_from_epoch: epochs done before this process resumed the run (0: none).
        history: one entry per monitor step: ``epoch`` (from 1) and the metrics then.
        timings: see :class:`Timings`.
        checkpoint: the run's ``last.ckpt``, None when it has none.
        diverged: where a diverged run stopped; None otherwise.
    """

    status: str | None = None
    method: str | None = None
    run_dir: str | None = None
    values: dict[str, float | None] = field(default_factory=dict)
    objective_bank_size: int | None = None
    objective_from: str | None = None
    monitor_bank_size: int | None = None
    lr_scaled: float | None = None
    epochs: int | None = None
    global_step: int | None = None
    world_size: int | None = None
    resumed_from_epoch: int | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    timings: Timings = field(default_factory=Timings)
    checkpoint: str | None = None
    diverged: Divergence | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of ``metrics.json``, its keys in the file's order, non-finite
        numbers as None."""
        out: dict[str, Any] = {
            "status": self.status, "method": self.method, "run_dir": self.run_dir,
            **self.values,
            "objective_bank_size": self.objective_bank_size,
            "objective_from": self.objective_from,
            "monitor_bank_size": self.monitor_bank_size, "lr_scaled": self.lr_scaled,
            "epochs": self.epochs, "global_step": self.global_step,
            "world_size": self.world_size,
            "resumed_from_epoch": self.resumed_from_epoch, "history": self.history,
            "timings": asdict(self.timings), "checkpoint": self.checkpoint,
        }
        if self.diverged is not None:
            out["diverged"] = self.diverged.to_dict()
        return _json_safe(out)

    def write(self, run_dir: Path) -> Path:
        """Write ``run_dir/metrics.json`` whole or not at all (a reader never sees half)."""
        path = Path(run_dir) / METRICS_FILE
        tmp = path.with_name(METRICS_FILE + ".tmp")
        tmp.write_text(json.dumps(self.to_dict(), indent=2))
        tmp.replace(path)
        return path

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunRecord:
        """The record of a ``metrics.json`` object (or of what a training returned); keys
        it does not know are left out, keys it lacks read as None or empty.

        Raises:
            ValueError: when ``data`` is not a JSON object.
        """
        if not isinstance(data, Mapping):
            raise ValueError(f"a run record is a JSON object, got {type(data).__name__}")
        history = data.get("history")
        return cls(
            status=data.get("status"), method=data.get("method"), run_dir=data.get("run_dir"),
            values={k: data[k] for k in RECORDED if k in data},
            objective_bank_size=data.get("objective_bank_size"),
            objective_from=data.get("objective_from"),
            monitor_bank_size=data.get("monitor_bank_size"), lr_scaled=data.get("lr_scaled"),
            epochs=data.get("epochs"), global_step=data.get("global_step"),
            world_size=data.get("world_size"),
            resumed_from_epoch=data.get("resumed_from_epoch"),
            history=[h for h in history if isinstance(h, dict)]
            if isinstance(history, list) else [],
            timings=Timings.from_dict(data.get("timings")),
            checkpoint=data.get("checkpoint"),
            diverged=Divergence.from_dict(data.get("diverged")))

    @classmethod
    def read(cls, run_dir: Path) -> RunRecord:
        """The record in ``run_dir/metrics.json``.

        Raises:
            OSError: when the file cannot be read.
            ValueError: when it is not a JSON object (``json.JSONDecodeError`` is one).
        """
        return cls.from_dict(json.loads((Path(run_dir) / METRICS_FILE).read_text()))


def _json_safe(value: Any) -> Any:
    if isinstance(value, float):
        return finite_or_none(value)
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return value
