"""Picks, gaps and rank correlations against values recomputed here."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from sweeper.oracle import (
    correlations,
    pick,
    rank_correlation,
    select_within,
    selection_by_axis,
    selection_by_method,
)


def rows() -> list[dict]:
    return [
        {"number": 0, "method": "simclr", "params": {"t": 0.1, "lr": 1}, "rankme": 5.0,
         "alpha_req": 1.5, "val_acc": 0.70, "test_acc": 0.68},
        {"number": 1, "method": "simclr", "params": {"t": 0.2, "lr": 1}, "rankme": 9.0,
         "alpha_req": 0.9, "val_acc": 0.80, "test_acc": 0.79},
        {"number": 2, "method": "simclr", "params": {"t": 0.5, "lr": 1}, "rankme": 7.0,
         "alpha_req": None, "val_acc": 0.85, "test_acc": 0.82},
        {"number": 3, "method": "simclr", "params": {"t": 0.5, "lr": 2}, "rankme": 9.0,
         "alpha_req": 1.1, "val_acc": 0.60, "test_acc": 0.90},
        {"number": 4, "method": "vicreg", "params": {"t": 0.5, "lr": 2}, "rankme": 3.0,
         "alpha_req": 2.0, "val_acc": 0.50, "test_acc": 0.50},
    ]


def test_pick_directions_and_ties() -> None:
    r = rows()[:4]
    assert pick(r, "rankme", "max")["number"] == 1  # tie 1 vs 3: lowest number
    assert pick(r, "alpha_req", "min")["number"] == 1  # null (collapsed) never picked
    assert pick(r, "lidar", "max") is None
    with pytest.raises(ValueError, match="direction"):
        pick(r, "rankme", "up")


def test_select_within_gaps_use_the_oracle_test_accuracy() -> None:
    sel = select_within(rows()[:4], ["rankme", "alpha_req", "lidar"])
    assert sel["oracle"] == {"trial": 2, "val_acc": 0.85, "test_acc": 0.82}
    assert sel["rankme"]["trial"] == 1
    assert sel["rankme"]["gap"] == pytest.approx(0.82 - 0.79)
    assert sel["alpha_req"]["value"] == 0.9
    assert "lidar" not in sel
    with pytest.raises(ValueError, match="unknown metric"):
        select_within(rows(), ["rank_me"])


def test_selection_is_within_each_method() -> None:
    sel = selection_by_method(rows(), ["rankme"])
    assert set(sel) == {"simclr", "vicreg"}
    assert sel["vicreg"]["rankme"]["trial"] == 4
    assert sel["vicreg"]["rankme"]["gap"] == 0.0


def test_selection_along_an_axis_holds_the_other_params_fixed() -> None:
    axes = selection_by_axis(rows(), ["rankme"], ["t", "lr"])
    lines = axes["simclr"]["t"]
    assert len(lines) == 1 and lines[0]["fixed"] == {"lr": 1}
    assert lines[0]["trials"] == [0, 1, 2]
    assert lines[0]["selection"]["oracle"]["trial"] == 2
    lr_lines = axes["simclr"]["lr"]
    assert [line["trials"] for line in lr_lines] == [[2, 3]]
    assert axes["vicreg"] == {"t": [], "lr": []}


def test_rank_correlation_matches_scipy_and_brackets_it() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=40)
    y = x + rng.normal(size=40)
    out = rank_correlation(x, y, n_boot=500, seed=0)
    assert out["kendall_tau"] == pytest.approx(stats.kendalltau(x, y).statistic)
    assert out["spearman_rho"] == pytest.approx(stats.spearmanr(x, y).statistic)
    lo, hi = out["spearman_ci95"]
    assert -1 <= lo < out["spearman_rho"] < hi <= 1
    ref = stats.bootstrap((x, y), lambda a, b: stats.spearmanr(a, b).statistic,
                          paired=True, vectorized=False, n_resamples=500,
                          method="percentile", random_state=0).confidence_interval
    assert lo == pytest.approx(ref.low, abs=0.08)
    assert hi == pytest.approx(ref.high, abs=0.08)
    assert rank_correlation(x, y, n_boot=500, seed=0) == out


def test_rank_correlation_is_undefined_for_too_few_or_constant() -> None:
    assert rank_correlation([1.0, 2.0], [3.0, 4.0])["spearman_rho"] is None
    assert rank_correlation([1.0, 1.0, 1.0], [3.0, 4.0, 5.0])["kendall_tau"] is None
    with pytest.raises(ValueError, match="1-D"):
        rank_correlation([1.0, 2.0, 3.0], [1.0, 2.0])


def test_correlations_skip_undefined_values_per_method() -> None:
    corr = correlations(rows(), ["rankme", "alpha_req"], n_boot=200)
    simclr = [r for r in rows() if r["method"] == "simclr"]
    assert corr["simclr"]["rankme"]["spearman_rho"] == pytest.approx(
        stats.spearmanr([r["rankme"] for r in simclr],
                        [r["test_acc"] for r in simclr]).statistic)
    assert corr["simclr"]["alpha_req"]["n"] == 3
    assert corr["vicreg"]["rankme"]["n"] == 1
