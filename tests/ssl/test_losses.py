"""The losses against the original papers' formulas, written out here as references."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from omegaconf import OmegaConf

from sweeper.ssl.methods import build_method
from sweeper.ssl.methods.mocov3 import moco_contrastive
from sweeper.ssl.methods.vicreg import VICReg


def _vicreg_official(x: torch.Tensor, y: torch.Tensor, lam: float, mu: float, nu: float
                     ) -> torch.Tensor:
    # facebookresearch/vicreg main_vicreg.py, VICReg.forward, single GPU
    n, d = x.shape
    repr_loss = F.mse_loss(x, y)
    x, y = x - x.mean(dim=0), y - y.mean(dim=0)
    std_x, std_y = torch.sqrt(x.var(dim=0) + 1e-4), torch.sqrt(y.var(dim=0) + 1e-4)
    std_loss = torch.mean(F.relu(1 - std_x)) / 2 + torch.mean(F.relu(1 - std_y)) / 2
    cov_x, cov_y = (x.T @ x) / (n - 1), (y.T @ y) / (n - 1)
    off = ~torch.eye(d, dtype=torch.bool)
    cov_loss = cov_x[off].pow(2).sum() / d + cov_y[off].pow(2).sum() / d
    return lam * repr_loss + mu * std_loss + nu * cov_loss


def test_vicreg_var_loss_weight_is_half_the_official_mu() -> None:
    torch.manual_seed(0)
    x, y = torch.randn(64, 16) * 0.3, torch.randn(64, 16) * 0.3
    method = VICReg(torch.nn.Identity(), 16, 16, 16, 25.0, 25.0, 1.0)
    ours = method.objective(x, y)
    # solo-learn sums the two variance terms: its weight 25 is the official code's mu = 50
    assert torch.allclose(ours, _vicreg_official(x, y, 25.0, 50.0, 1.0), rtol=1e-5)
    assert not torch.allclose(ours, _vicreg_official(x, y, 25.0, 25.0, 1.0), rtol=1e-3)


def test_moco_v3_contrastive_loss_matches_algorithm_1() -> None:
    torch.manual_seed(0)
    q, k, t = torch.randn(32, 8), torch.randn(32, 8), 0.2
    qn, kn = q / q.norm(dim=1, keepdim=True), k / k.norm(dim=1, keepdim=True)
    logits = qn @ kn.T / t
    expected = -torch.log_softmax(logits, dim=1).diagonal().mean() * 2 * t
    assert torch.allclose(moco_contrastive(q, k, t), expected, rtol=1e-5)


def test_byol_loss_is_two_minus_two_cosine_per_direction() -> None:
    torch.manual_seed(0)
    kwargs = OmegaConf.create({"proj_hidden_dim": 16, "proj_output_dim": 8,
                               "pred_hidden_dim": 16})
    method = build_method("byol", torch.nn.Flatten(), 16, kwargs)
    views = [torch.randn(16, 16), torch.randn(16, 16)]
    q = [method.predictor(method.projector(v)) for v in views]
    t = [method.projector_momentum(v) for v in views]
    expected = sum(2 - 2 * F.cosine_similarity(q[i], t[j]).mean() for i, j in ((0, 1), (1, 0)))
    assert torch.allclose(method.loss(views, 0), expected, rtol=1e-5)


def test_unknown_method_kwargs_are_named() -> None:
    import pytest

    with pytest.raises(ValueError, match=r"unknown \['tau'\].*it takes: proj_hidden_dim"):
        build_method("simclr", torch.nn.Identity(), 8,
                     {"proj_hidden_dim": 8, "proj_output_dim": 8, "temperature": 0.1, "tau": 1})
