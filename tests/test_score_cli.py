"""The ``rankme-sweeper score`` command, run as a user runs it (a process, the checkout's code)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from sweeper.commands import score
from sweeper.commands.score import _sampled_rows
from sweeper.metrics.embedding_files import open_embeddings
from sweeper.metrics.idest import idest
from tests.cli import run_cli
from tests.metrics import reference as ref

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "digits_pixels.npy"


def test_score_json_on_the_embedded_example() -> None:
    done = run_cli("score", str(EXAMPLE), "--json", "--idest")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    z = np.load(EXAMPLE)
    assert (result["n"], result["dim"]) == z.shape == (1797, 64)
    assert result["rankme"] == pytest.approx(ref.rankme(z), rel=1e-6)
    assert result["stable_rank"] == pytest.approx(ref.stable_rank(z), rel=1e-6)
    assert result["nesum"] == pytest.approx(ref.nesum(z), rel=1e-6)
    assert result["alpha_req"] == pytest.approx(ref.alpha_req(z), rel=1e-6)
    assert result["idest"] == pytest.approx(idest(z), rel=1e-9)  # 1,797 rows: all of them


def test_idest_rows_are_a_seeded_sample_across_shards(tmp_path: Path) -> None:
    z = np.random.default_rng(0).normal(size=(500, 6)).astype(np.float32)
    np.save(tmp_path / "a.npy", z[:300])
    np.save(tmp_path / "b.npy", z[300:])
    keep = np.sort(np.random.default_rng(4).choice(500, size=100, replace=False))
    rows = _sampled_rows(open_embeddings(tmp_path), 100, seed=4)
    assert np.array_equal(rows.numpy(), z[keep].astype(np.float64))
    assert np.array_equal(_sampled_rows(open_embeddings(tmp_path), 10_000).numpy(), z)


def test_score_prints_a_readable_table() -> None:
    done = run_cli("score", str(EXAMPLE))
    assert done.returncode == 0, done.stderr
    assert "N = 1,797 x K = 64" in done.stdout
    for name in ("rankme", "alpha_req", "nesum", "stable_rank", "threshold_rank"):
        assert name in done.stdout


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: (p / "x.csv").write_text("1,2"), "unknown embedding file type '.csv'"),
        (lambda p: (p / "x.npy").write_bytes(b"garbage"), "cannot read"),
        (lambda p: np.save(p / "x.npy", np.ones(7, dtype=np.float32)), "must be N x K"),
        (lambda p: np.save(p / "x.npy", np.full((4, 3), np.nan)), "12 of 12 embedding values"),
    ],
)
def test_bad_files_exit_nonzero_with_one_clear_line(tmp_path: Path, make, message: str) -> None:  # type: ignore[no-untyped-def]
    make(tmp_path)
    target = next(tmp_path.iterdir())
    done = run_cli("score", str(target))
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_unknown_subcommand_lists_the_choices() -> None:
    done = run_cli("scroe")
    assert done.returncode == 2
    assert "unknown subcommand 'scroe'" in done.stderr
    assert "score" in done.stderr


def test_a_nan_names_the_file_and_its_first_bad_row(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    z = np.ones((100, 10), dtype=np.float32)
    z[3, 4], z[50, 0] = np.nan, np.inf
    target = tmp_path / "emb.npy"
    np.save(target, z)
    assert score.main([str(target)]) == 2  # in this process: a CLI process costs ~30 s here
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ")
    assert f"{target}: row 3 (counted from 0) holds the first NaN or Inf" in err
    assert "2 of 1000 embedding values" in err
