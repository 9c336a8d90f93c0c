"""metrics.json through its one typed record: the file's shape, partial files, round trips."""

from __future__ import annotations

import doctest
import json
import math
from pathlib import Path

import pytest

from sweeper.metrics import run_record
from sweeper.metrics.run_record import METRICS_FILE, Divergence, RunRecord, Timings

# A file as `train` writes it (key order included), from a diverged run.
WRITTEN = {
    "status": "diverged", "method": "simclr", "run_dir": "runs/t0",
    "rankme": 12.5, "rankme_projector": None, "alpha_req": 1.25,
    "objective_bank_size": 64, "objective_from": "last monitor step",
    "monitor_bank_size": 64, "lr_scaled": 0.3, "epochs": 2, "global_step": 8,
    "world_size": 1, "resumed_from_epoch": 0,
    "history": [{"epoch": 1, "rankme": 12.5, "bank_size": 64.0}],
    "timings": {"fit_seconds": 1.5, "train_seconds": 1.0, "monitor_seconds": 0.25,
                "objective_seconds": 0.0, "epoch_seconds": [0.5, 0.5],
                "monitor_call_seconds": [0.25], "monitor_share": 0.25},
    "checkpoint": None,
    "diverged": {"epoch": 2, "step": 8, "loss": "nan", "reason": "non-finite embeddings"},
}


def test_a_written_file_reads_back_to_the_same_object_in_the_same_order() -> None:
    record = RunRecord.from_dict(WRITTEN)
    assert record.values == {"rankme": 12.5, "rankme_projector": None, "alpha_req": 1.25}
    assert record.diverged == Divergence(2, 8, "nan", "non-finite embeddings")
    assert record.timings.epoch_seconds == [0.5, 0.5]
    assert list(record.to_dict().items()) == list(WRITTEN.items())


def test_write_is_the_json_file_and_read_returns_it(tmp_path: Path) -> None:
    record = RunRecord(status="completed", method="byol", run_dir=str(tmp_path),
                       values={"rankme": math.inf, "lidar": 3.0}, epochs=1,
                       history=[{"epoch": 1, "rankme": math.nan}],
                       timings=Timings(fit_seconds=2.0))
    path = record.write(tmp_path)
    assert path == tmp_path / METRICS_FILE and not (tmp_path / "metrics.json.tmp").exists()
    data = json.loads(path.read_text())  # JSON has no Infinity: null
    assert data["rankme"] is None and data["history"] == [{"epoch": 1, "rankme": None}]
    assert "diverged" not in data and data["lidar"] == 3.0
    assert RunRecord.read(tmp_path).to_dict() == data


def test_a_partial_file_of_another_training_reads_as_none_or_empty() -> None:
    record = RunRecord.from_dict({"status": "completed", "rankme": 4.0, "extra": [1]})
    assert record.values == {"rankme": 4.0} and record.method is None
    assert record.history == [] and record.diverged is None and record.epochs is None
    assert RunRecord.from_dict({"diverged": {}}).diverged is None


def test_divergence_names_the_loss_when_no_reason_is_given() -> None:
    assert Divergence(3, 12, "inf").what == "loss inf"
    assert Divergence(3, 12, "inf").to_dict() == {"epoch": 3, "step": 12, "loss": "inf"}
    assert Divergence(reason="NaN embeddings").what == "NaN embeddings"


def test_not_an_object_is_refused(tmp_path: Path) -> None:
    (tmp_path / METRICS_FILE).write_text("[1, 2]")
    with pytest.raises(ValueError, match="JSON object, got list"):
        RunRecord.read(tmp_path)


def test_docstring_example() -> None:
    assert doctest.testmod(run_record).failed == 0
