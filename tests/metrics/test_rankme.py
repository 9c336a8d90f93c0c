"""RankMe against analytic spectra and an independent float64 SVD reference."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sweeper.metrics import SpectrumAccumulator, rankme
from tests.metrics import reference as ref

K = 128
SPECTRA = {
    "flat": np.ones(K),
    "power_law": np.arange(1, K + 1, dtype=np.float64) ** -1.0,
    "exponential": np.exp(-np.arange(K) / 8.0),
    "rank_deficient": np.r_[np.ones(20), np.linspace(1, 0.1, 10), np.zeros(K - 30)],
    "dynamic_range_1e-8": np.logspace(0, -8, K),
}


@pytest.mark.parametrize("name", list(SPECTRA))
def test_rankme_matches_the_analytic_value_of_a_built_spectrum(name: str) -> None:
    s = SPECTRA[name]
    z = ref.with_singular_values(1000, K, s)
    assert rankme(z) == pytest.approx(ref.effective_rank_of(s), rel=1e-6)


@pytest.mark.parametrize("name", list(SPECTRA))
def test_rankme_matches_float64_svd_on_float32_input(name: str) -> None:
    z = ref.with_singular_values(1000, K, SPECTRA[name]).astype(np.float32)
    assert rankme(z) == pytest.approx(ref.rankme(z), rel=1e-6)


def test_flat_spectrum_is_full_rank() -> None:
    z = ref.with_singular_values(500, 64, np.full(64, 3.0))
    # p_k = 1/64 + eps for all k: exp(H) is 64 up to eps's first-order effect.
    assert rankme(z) == pytest.approx(64.0, rel=1e-4)


def test_scale_invariance_and_no_centering() -> None:
    rng = np.random.default_rng(1)
    z = rng.standard_normal((400, 32))
    assert rankme(1e3 * z) == pytest.approx(rankme(z), rel=1e-9)
    shifted = z + 10.0  # a large mean direction dominates the uncentered spectrum
    assert rankme(shifted) < rankme(z) / 2
    assert rankme(shifted) == pytest.approx(ref.rankme(shifted), rel=1e-6)


def test_wide_matrix_uses_min_n_k_singular_values() -> None:
    rng = np.random.default_rng(2)
    z = rng.standard_normal((20, 300))  # N < K
    assert rankme(z) == pytest.approx(ref.rankme(z), rel=1e-6)
    assert SpectrumAccumulator.from_matrix(z).singular_values().numel() == 20


def test_all_zero_matrix_is_full_collapse() -> None:
    assert rankme(np.zeros((100, 16))) == 1.0
    assert rankme(torch.zeros(3, 5, dtype=torch.bfloat16)) == 1.0


def test_rank_one_matrix_scores_about_one() -> None:
    rng = np.random.default_rng(3)
    z = np.outer(rng.standard_normal(300), rng.standard_normal(40))
    # The 39 exact zeros come out of the float64 Gram route near 1e-8 * s_1, under its
    # rounding floor, and read as zeros (they used to leave RankMe 1.7e-6 high).
    assert SpectrumAccumulator.from_matrix(z).singular_values()[1:].count_nonzero() == 0
    assert rankme(z) == pytest.approx(ref.rankme(z), rel=1e-9)
    assert rankme(z) < 1.0001


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
def test_low_precision_tensors_score_their_own_values(dtype: torch.dtype) -> None:
    z = torch.from_numpy(ref.with_singular_values(800, 48, np.logspace(0, -3, 48))).to(dtype)
    # The reference sees exactly the rounded values the metric sees.
    assert rankme(z) == pytest.approx(ref.rankme(z.double().numpy()), rel=1e-6)


def test_numpy_and_torch_inputs_agree_and_streaming_batches_do_not_matter() -> None:
    rng = np.random.default_rng(4)
    z = rng.standard_normal((1000, 24)).astype(np.float32)
    whole = rankme(z)
    assert rankme(torch.from_numpy(z)) == pytest.approx(whole, rel=1e-12)
    acc = SpectrumAccumulator()
    for start in range(0, 1000, 37):  # uneven batches
        acc.update(z[start : start + 37])
    assert rankme(acc) == pytest.approx(whole, rel=1e-12)


def test_integer_and_memory_mapped_inputs(tmp_path) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(5)
    z = rng.integers(-50, 50, size=(300, 12)).astype(np.int16)
    assert rankme(z) == pytest.approx(ref.rankme(z), rel=1e-6)
    np.save(tmp_path / "z.npy", z.astype(np.float32))
    mapped = np.load(tmp_path / "z.npy", mmap_mode="r")
    assert rankme(mapped) == pytest.approx(ref.rankme(z), rel=1e-6)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_cuda_tensor_matches_reference(dtype: torch.dtype) -> None:
    z = torch.from_numpy(ref.with_singular_values(2000, 256, np.logspace(0, -6, 256))).to(dtype)
    expected = ref.rankme(z.double().numpy())
    assert rankme(z.cuda()) == pytest.approx(expected, rel=1e-6)
