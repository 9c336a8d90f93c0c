"""An accumulator built from summed moments (how DDP ranks merge) equals the one of all rows."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sweeper.metrics import SpectrumAccumulator
from sweeper.metrics.gram import GramMoments


def test_summed_moments_of_two_shards_give_the_spectrum_of_all_rows() -> None:
    z = np.random.default_rng(0).standard_normal((300, 12))
    parts = [SpectrumAccumulator.from_matrix(z[:100]), SpectrumAccumulator.from_matrix(z[100:])]
    gram = sum(p.gram() for p in parts)
    colsum = sum(p.mean() * p.n for p in parts)
    assert isinstance(gram, torch.Tensor) and isinstance(colsum, torch.Tensor)
    merged = SpectrumAccumulator.from_moments(300, GramMoments.from_gram(gram, colsum))
    whole = SpectrumAccumulator.from_matrix(z)
    assert merged.dim == 12
    torch.testing.assert_close(merged.singular_values(), whole.singular_values())
    torch.testing.assert_close(merged.covariance_eigenvalues(), whole.covariance_eigenvalues())
    more = np.random.default_rng(1).standard_normal((50, 12))
    merged.update(more)  # a merged accumulator goes on streaming
    torch.testing.assert_close(merged.gram(),
                               SpectrumAccumulator.from_matrix(np.vstack([z, more])).gram())


def test_rows_are_kept_only_while_the_matrix_is_not_taller_than_wide() -> None:
    acc = SpectrumAccumulator()
    assert acc.kept_rows().shape == (0, 0)
    acc.update(np.ones((3, 5)))
    assert acc.kept_rows().dtype == torch.float64 and acc.kept_rows().shape == (3, 5)
    acc.update(np.ones((3, 5)))
    with pytest.raises(ValueError, match="only their moments are kept"):
        acc.kept_rows()
