"""Every bad input to the metrics raises a ValueError that says what is wrong."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sweeper.metrics import SpectrumAccumulator, rankme, spectral_metrics


def test_nan_values_are_counted_in_the_message() -> None:
    z = np.ones((100, 10))
    z[3, 4] = np.nan
    z[7, 1] = np.inf
    with pytest.raises(ValueError, match=r"2 of 1000 embedding values are not finite"):
        rankme(z)


def test_nan_in_a_low_precision_gpu_style_tensor() -> None:
    z = torch.zeros(10, 4, dtype=torch.float16)
    z[0, 0] = float("nan")
    with pytest.raises(ValueError, match="not finite"):
        spectral_metrics(z)


@pytest.mark.parametrize(
    ("z", "message"),
    [
        (np.ones(10), r"1-D array of shape \(10,\)"),
        (np.ones((2, 3, 4)), r"2-D N x K matrix, got shape \(2, 3, 4\)"),
        (np.ones((0, 5)), "empty"),
        (np.ones((5, 0)), "empty"),
        (np.ones((1, 5)), "at least 2 rows"),
        (np.array([["a", "b"], ["c", "d"]]), "numeric"),
        (np.ones((3, 3), dtype=np.complex64), "numeric"),
        ([[1.0, 2.0], [3.0, 4.0]], "torch.Tensor or numpy.ndarray, got list"),
    ],
)
def test_malformed_matrices(z: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        rankme(z)


def test_streaming_batches_must_share_k() -> None:
    acc = SpectrumAccumulator()
    acc.update(np.ones((4, 3)))
    with pytest.raises(ValueError, match="batch has 5 columns but earlier batches had 3"):
        acc.update(np.ones((4, 5)))


def test_empty_accumulator_has_no_spectrum() -> None:
    with pytest.raises(ValueError, match="no embeddings were added"):
        SpectrumAccumulator().singular_values()


def test_a_rejected_batch_leaves_the_accumulated_state_intact() -> None:
    rng = np.random.default_rng(0)
    good = rng.standard_normal((50, 6))
    acc = SpectrumAccumulator()
    acc.update(good)
    bad = good.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError):
        acc.update(bad)
    assert acc.n == 50
    assert rankme(acc) == pytest.approx(rankme(good), rel=1e-12)


def test_values_too_large_to_sum_are_named_not_called_nan() -> None:
    with pytest.raises(ValueError, match="up to 1e.308 overflow float64"):
        rankme(np.full((4, 3), 1e308))
