"""Exactly rank-deficient matrices: the rounding floor turns float64 noise into exact zeros.

Z = Q1 diag(s) Q2^T has exactly r non-zero singular values, so its RankMe is the analytic
value of s padded with min(N, K) - r zeros. The Gram route used to leave those zeros at
~1e-8 of s_1 (RankMe 1.2e-5 high for rank one in 3000 x 256).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from sweeper.metrics import SpectrumAccumulator, alpha_req, nesum, rankme, threshold_rank
from tests.metrics import reference as ref

# (N, K, r): tall matrices go through the K x K Gram matrix, the wide one through Z Z^T.
SHAPES = [(3000, 256, 1), (3000, 256, 10), (3000, 256, 100), (200, 512, 10)]
IDS = [f"{n}x{k}_rank{r}" for n, k, r in SHAPES]


def analytic_rankme(s: np.ndarray, m: int) -> float:
    return ref.effective_rank_of(np.r_[s, np.zeros(m - len(s))])


@pytest.mark.parametrize(("n", "k", "r"), SHAPES, ids=IDS)
@pytest.mark.parametrize("spectrum", ["equal", "graded"])
def test_float64_exact_rank_scores_the_analytic_value(
    n: int, k: int, r: int, spectrum: str
) -> None:
    s = np.ones(r) if spectrum == "equal" else np.logspace(0, -3, r)
    z = ref.with_singular_values(n, k, s, seed=r)
    acc = SpectrumAccumulator.from_matrix(z)
    sv = acc.singular_values().numpy()
    assert np.all(sv[r:] == 0.0)
    np.testing.assert_allclose(sv[:r], np.sort(s)[::-1], rtol=1e-7)
    assert rankme(acc) == pytest.approx(analytic_rankme(s, min(n, k)), rel=1e-9)
    assert threshold_rank(acc) == threshold_rank(acc, rtol=0.0) == r


def test_rank_ten_in_3000_by_256_is_10_003979() -> None:
    # Before the floor this scored 10.004003 (2.4e-6 high).
    z = ref.with_singular_values(3000, 256, np.ones(10))
    exact = analytic_rankme(np.ones(10), 256)
    assert round(exact, 6) == 10.003979
    assert rankme(z) == pytest.approx(exact, rel=1e-9)


@pytest.mark.parametrize(("n", "k", "r"), SHAPES, ids=IDS)
def test_float32_exact_rank_against_analytic_value_and_float64_svd(n: int, k: int, r: int) -> None:
    s = np.ones(r)
    m = min(n, k)
    z32 = ref.with_singular_values(n, k, s, seed=r).astype(np.float32)
    acc = SpectrumAccumulator.from_matrix(z32)
    assert np.all(acc.singular_values().numpy()[r:] == 0.0)

    # Storing Z in float32 adds E with |E_ij| <= 2^-24 |Z_ij|: a float64 SVD of z32 sees its
    # tail, sum_{k>r} s_k <= sqrt(m - r) ||E||_F (Eckart-Young), at ~1e-8 of s_1. It lies
    # under the floor (3e-8 ||Z||_F) and is dropped. |d/dq of -(q + eps) log(q + eps)| <=
    # -log(1e-7) - 1 < 15.2 on [0, 1], and dropping a tail holding a fraction tau of sum(s)
    # moves the p's by 2 tau in all, so RankMe moves by at most exp(30.4 tau) - 1.
    s32 = ref.singular_values(z32)
    tau = s32[r:].sum() / s32.sum()
    assert tau <= math.sqrt(m - r) * 2.0**-24 * np.linalg.norm(z32.astype(np.float64)) / s32.sum()
    measured = abs(rankme(acc) / ref.rankme(z32) - 1)
    assert measured <= math.expm1(30.4 * tau)

    # With the tail gone only the r equal values move, each by <= ||E||_2 <= 2^-24 sqrt(r) s,
    # so the p's move by <= 2^-23 / sqrt(r); equal p's maximise the entropy, so the change
    # is second order, <= r * 2^-46 / 2 (about r * 7e-15): 1e-9 leaves a wide margin.
    assert rankme(acc) == pytest.approx(analytic_rankme(s, m), rel=1e-9)


@pytest.mark.parametrize("offset", [0.0, 5.0, 50.0])
@pytest.mark.parametrize(("n", "k"), [(3000, 256), (200, 512)], ids=["gram", "rows"])
def test_covariance_of_exact_rank_data_with_a_large_mean(n: int, k: int, offset: float) -> None:
    # From the K x K moments the covariance is G - N mean mean^T: with offset 5 the old
    # rounding left the 246 zero eigenvalues at ~1e-12 of lambda_1, above alpha-ReQ's
    # cut-off, and alpha-ReQ of this alpha = 2 power law read 12.6.
    lam = np.arange(1, 11, dtype=np.float64) ** -2.0
    z = ref.with_covariance_eigenvalues(n, k, lam) + offset
    acc = SpectrumAccumulator.from_matrix(z)
    eig = acc.covariance_eigenvalues().numpy()
    assert np.all(eig[10:] == 0.0)
    np.testing.assert_allclose(eig[:10], lam, rtol=1e-9)
    assert alpha_req(acc) == pytest.approx(2.0, rel=1e-9)
    assert nesum(acc) == pytest.approx(lam.sum() / lam[0], rel=1e-9)


def test_small_genuine_singular_values_survive_the_floor() -> None:
    # The floor is 3e-8 ||Z||_F; 1e-6 of s_1 here is 30 times above it.
    s = np.r_[1.0, np.full(5, 1e-6)]
    z = ref.with_singular_values(3000, 256, s)
    sv = SpectrumAccumulator.from_matrix(z).singular_values().numpy()
    assert np.all(sv[6:] == 0.0)
    np.testing.assert_allclose(sv[:6], s, rtol=1e-3)
    assert threshold_rank(z, rtol=1e-7) == 6
