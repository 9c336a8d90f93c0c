"""Each method's training loss against the paper's formula, transcribed here in plain torch.

The methods' heads are swapped for fixed float64 linear maps, so ``method.loss(views)``
(what the training step computes) is compared with a reference written from the papers:

- SimCLR (Chen et al. 2020, eq. 1): NT-Xent over the 2N views, cosine similarity / T, the
  positive against the 2N - 1 others, averaged over all 2N anchors; with V > 2 views
  (solo-learn's form) the V - 1 positives' similarities are summed in the numerator.
- Barlow Twins (Zbontar et al. 2021, eqs. 1-2): C_ij = sum_b a_bi b_bj / (|a_i| |b_j|) of
  batch-centred embeddings, sum_i (1 - C_ii)^2 + lambda sum_{i != j} C_ij^2, times scale_loss.
- BYOL (Grill et al. 2020, eq. 2): |q/|q| - z'/|z'||^2 = 2 - 2 cos, L + L~ (both directions);
  with V > 2 views (solo-learn) every view predicts both large crops' targets, summed.
- SimSiam (Chen & He 2021, eqs. 1-3): D(p, z) = -cos, L = D(p1, sg z2)/2 + D(p2, sg z1)/2.
- MoCo v3 (Chen et al. 2021, Alg. 1): ctr(q, k) = 2 tau * CE(q k^T / tau, diag) on unit
  vectors, L = ctr(q1, k2) + ctr(q2, k1): the implementation keeps the paper's 2 tau.
- DINO (Caron et al. 2021, eq. 3 and Alg. 1): sum over teacher (global) views t and student
  views s != t of H(softmax((g_t - c) / tau_t), softmax(f_s / tau_s)), over the number of
  terms; c <- m c + (1 - m) mean of the teacher outputs, m = 0.9; tau_t warms up linearly.
- VICReg (Bardes et al. 2022, eqs. 1-6): lambda s + mu [v(Z) + v(Z')] + nu [c(Z) + c(Z')]
  with the official code's normalisations (s is the MSE, i.e. the paper's s / d) and
  solo-learn's weights (the variance terms summed, as the paper writes eq. 6; the official
  code halves them, see sweeper/ssl/methods/vicreg.py); v hinges on sqrt(Var + 1e-4),
  c(Z) = sum_{i != j} Cov(Z)_ij^2 / d.

More than 2 views: as in solo-learn, Barlow Twins, SimSiam, MoCo v3 and VICReg refuse them;
SimCLR, BYOL and DINO take them (DINO's teacher sees the first two views).
"""

from __future__ import annotations

import itertools
import math

import pytest
import torch
from torch import nn

from sweeper.ssl.methods import SSLMethod, build_method

B, D, K = 32, 12, 10  # batch, feature dim, embedding dim
KWARGS = {"proj_hidden_dim": 8, "proj_output_dim": 8}


def _linear(d_in: int, d_out: int, seed: int, trainable: bool = True) -> nn.Linear:
    torch.manual_seed(seed)
    layer = nn.Linear(d_in, d_out).double()
    layer.requires_grad_(trainable)
    return layer


def _method(name: str, **kwargs: object) -> tuple[SSLMethod, nn.Linear]:
    """Method ``name`` on identity features with a linear float64 projector."""
    method = build_method(name, nn.Identity(), D, {**KWARGS, **kwargs})
    method.projector = proj = _linear(D, K, 1)
    return method.double(), proj


def _teacher_method(name: str, **kwargs: object
                    ) -> tuple[SSLMethod, nn.Linear, nn.Linear, nn.Linear]:
    """``(method, projector, predictor, teacher)``, the teacher a fixed linear map."""
    method, proj = _method(name, pred_hidden_dim=8, **kwargs)
    method.predictor = pred = _linear(K, K, 2)
    method.backbone_momentum = nn.Identity()
    method.projector_momentum = teacher = _linear(D, K, 3, trainable=False)
    return method, proj, pred, teacher


def _views(n: int, seed: int = 0) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return [torch.randn(B, D, generator=gen, dtype=torch.float64) for _ in range(n)]


def _unit(x: torch.Tensor) -> torch.Tensor:
    return x / x.pow(2).sum(dim=1, keepdim=True).sqrt()


def _pairs(n: int) -> list[tuple[int, int]]:
    return [(i, j) for i in range(n) for j in range(i + 1, n)]


def _mean(terms: list[torch.Tensor]) -> torch.Tensor:
    return torch.stack(terms).mean()


def _close(ours: torch.Tensor, ref: torch.Tensor) -> None:
    assert ours.dtype == torch.float64
    torch.testing.assert_close(ours, ref, rtol=1e-5, atol=0.0)


# --- references, from the papers --------------------------------------------------------

def nt_xent(za: torch.Tensor, zb: torch.Tensor, t: float) -> torch.Tensor:
    z = _unit(torch.cat([za, zb]))
    n2 = z.shape[0]
    terms = []
    for i in range(n2):
        pos = (i + n2 // 2) % n2
        sims = torch.stack([z[i] @ z[k] / t for k in range(n2) if k != i])
        terms.append(-(z[i] @ z[pos] / t - torch.log(torch.exp(sims).sum())))
    return _mean(terms)


def nt_xent_views(z: list[torch.Tensor], t: float) -> torch.Tensor:
    # V views of N images: for each anchor, the other views of its image are positives
    zs = _unit(torch.cat(z))
    n, total = z[0].shape[0], zs.shape[0]
    terms = []
    for i in range(total):
        others = [k for k in range(total) if k != i]
        pos = [k for k in others if k % n == i % n]
        e = {k: torch.exp(zs[i] @ zs[k] / t) for k in others}
        terms.append(-torch.log(torch.stack([e[k] for k in pos]).sum()
                                / torch.stack(list(e.values())).sum()))
    return _mean(terms)


def barlow_twins(za: torch.Tensor, zb: torch.Tensor, lamb: float, eps: float = 1e-5
                 ) -> torch.Tensor:
    # eq. 2 on batch-centred columns; eps is the official code's BatchNorm1d eps (on the
    # biased variance): eq. 2 exactly at eps = 0
    a, b = za - za.mean(0), zb - zb.mean(0)
    n, d = a.shape
    na = (a.pow(2).sum(0) + n * eps).sqrt()
    nb = (b.pow(2).sum(0) + n * eps).sqrt()
    c = torch.einsum("bi,bj->ij", a, b) / torch.outer(na, nb)
    on = torch.stack([(1 - c[i, i]) ** 2 for i in range(d)]).sum()
    off = torch.stack([c[i, j] ** 2 for i in range(d) for j in range(d) if i != j]).sum()
    return on + lamb * off


def byol_pair(q: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    return (_unit(q) - _unit(z)).pow(2).sum(1).mean()


def neg_cos(p: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    return -(_unit(p) * _unit(z)).sum(1).mean()


def moco_ctr(q: torch.Tensor, k: torch.Tensor, tau: float) -> torch.Tensor:
    logits = _unit(q) @ _unit(k).T / tau
    ce = -(logits.diagonal() - torch.logsumexp(logits, dim=1)).mean()
    return 2 * tau * ce


def vicreg(za: torch.Tensor, zb: torch.Tensor, lam: float, mu: float, nu: float
           ) -> torch.Tensor:
    n, d = za.shape

    def v(z: torch.Tensor) -> torch.Tensor:
        var = (z - z.mean(0)).pow(2).sum(0) / (n - 1)
        return torch.clamp(1 - torch.sqrt(var + 1e-4), min=0).sum() / d

    def c(z: torch.Tensor) -> torch.Tensor:
        zc = z - z.mean(0)
        cov = torch.stack([torch.outer(zc[i], zc[i]) for i in range(n)]).sum(0) / (n - 1)
        return (cov.pow(2).sum() - cov.diagonal().pow(2).sum()) / d

    s = (za - zb).pow(2).sum(1).mean() / d  # the paper's s(Z, Z'), over d as MSE
    return lam * s + mu * (v(za) + v(zb)) + nu * (c(za) + c(zb))


# --- tests -----------------------------------------------------------------------------

@pytest.mark.parametrize("n_views", [2, 3])
def test_simclr_is_nt_xent_over_all_views(n_views: int) -> None:
    method, proj = _method("simclr", temperature=0.2)
    views = _views(n_views)
    z = [proj(v) for v in views]
    _close(method.loss(views, 0), nt_xent_views(z, 0.2))
    if n_views == 2:
        _close(nt_xent_views(z, 0.2), nt_xent(z[0], z[1], 0.2))


@pytest.mark.parametrize("name,kwargs", [
    ("barlow_twins", {"lamb": 0.0051, "scale_loss": 0.1}),
    ("vicreg", {"sim_loss_weight": 25.0, "var_loss_weight": 25.0, "cov_loss_weight": 1.0}),
    ("simsiam", {"pred_hidden_dim": 8}),
    ("mocov3", {"pred_hidden_dim": 8, "temperature": 0.2}),
])
def test_two_view_methods_refuse_a_third_view(name: str, kwargs: dict[str, object]) -> None:
    method, _ = _method(name, **kwargs)
    with pytest.raises(ValueError, match=f"{name} trains on exactly 2 views"):
        method.loss(_views(3), 0)


def test_barlow_twins_is_the_cross_correlation_loss_times_scale_loss() -> None:
    method, proj = _method("barlow_twins", lamb=0.0051, scale_loss=0.1)
    views = _views(2)
    z = [proj(v) for v in views]
    _close(method.loss(views, 0), 0.1 * barlow_twins(z[0], z[1], 0.0051))


def test_barlow_twins_matches_equation_2_where_the_batchnorm_eps_is_negligible() -> None:
    method, _ = _method("barlow_twins", lamb=0.0051, scale_loss=1.0)
    method.projector = nn.Identity()
    za, zb = (30 * v for v in _views(2))
    _close(method.loss([za, zb], 0), barlow_twins(za, zb, 0.0051, eps=0.0))


@pytest.mark.parametrize("n_views", [2, 3])
def test_byol_is_two_minus_two_cos_summed_over_both_directions(n_views: int) -> None:
    method, proj, pred, teacher = _teacher_method("byol")
    views = _views(n_views)
    q = [pred(proj(v)) for v in views]
    t = [teacher(v) for v in views]
    ref = torch.stack([byol_pair(q[v], t[g]) for g in range(2) for v in range(n_views)
                       if v != g]).sum()
    _close(method.loss(views, 0), ref)
    # 2 - 2 cos is the squared distance of the unit vectors, the paper's form
    cos = (_unit(q[0]) * _unit(t[1])).sum(1).mean()
    _close(byol_pair(q[0], t[1]), 2 - 2 * cos)


def test_mocov3_is_two_tau_infonce_summed_over_both_directions() -> None:
    method, proj, pred, teacher = _teacher_method("mocov3", temperature=0.2)
    views = _views(2)
    q = [pred(proj(v)) for v in views]
    k = [teacher(v) for v in views]
    _close(method.loss(views, 0), moco_ctr(q[0], k[1], 0.2) + moco_ctr(q[1], k[0], 0.2))


def test_simsiam_is_symmetrised_negative_cosine_with_stop_gradient() -> None:
    n_views = 2
    method, proj = _method("simsiam", pred_hidden_dim=8)
    method.predictor = pred = _linear(K, K, 2)
    views = _views(n_views)
    params = list(method.parameters())
    ours = method.loss(views, 0)

    z = [proj(v) for v in views]
    p = [pred(zi) for zi in z]
    ref = _mean([neg_cos(p[i], z[j].detach()) / 2 + neg_cos(p[j], z[i].detach()) / 2
                 for i, j in _pairs(n_views)])
    _close(ours, ref)
    # stop-gradient: the projector learns only through the predictor's branch
    for got, want in zip(torch.autograd.grad(ours, params), torch.autograd.grad(ref, params),
                         strict=True):
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-12)


def test_vicreg_is_invariance_variance_covariance() -> None:
    method, proj = _method("vicreg", sim_loss_weight=25.0, var_loss_weight=25.0,
                           cov_loss_weight=1.0)
    views = [0.3 * v for v in _views(2)]  # small std: the variance hinge is active
    z = [proj(v) for v in views]
    _close(method.loss(views, 0), vicreg(z[0], z[1], 25.0, 25.0, 1.0))


@pytest.mark.parametrize("n_views", [2, 4])
def test_dino_is_centred_sharpened_cross_entropy_over_different_views(n_views: int) -> None:
    warm_t, final_t, warm_epochs, student_t, m = 0.04, 0.07, 5, 0.1, 0.9
    method, proj = _method("dino", num_prototypes=K, norm_last_layer=True,
                           use_bn_in_head=False, clip_grad=0.0,
                           freeze_last_layer=1, student_temperature=student_t,
                           teacher_temperature=final_t, warmup_teacher_temperature=warm_t,
                           warmup_teacher_temperature_epochs=warm_epochs)
    method.backbone_momentum = nn.Identity()
    method.projector_momentum = teacher = _linear(D, K, 3, trainable=False)
    center = torch.zeros(K, dtype=torch.float64)
    for epoch, seed in ((2, 0), (7, 1)):  # in warmup, then after it; the centre moves
        views = _views(n_views, seed)
        tau_t = (warm_t + (final_t - warm_t) * epoch / (warm_epochs - 1)
                 if epoch < warm_epochs else final_t)
        g = [teacher(v) for v in views[:2]]
        f = [proj(v) for v in views]
        terms = [-(torch.softmax((g[t] - center) / tau_t, dim=1)
                   * torch.log_softmax(f[s] / student_t, dim=1)).sum(1).mean()
                 for t, s in itertools.product(range(2), range(n_views)) if s != t]
        assert len(terms) == 2 * n_views - 2
        _close(method.loss(views, epoch), _mean(terms))
        center = m * center + (1 - m) * torch.cat(g).mean(0)
        kept = dict(method.named_buffers())["criterion.center"]
        torch.testing.assert_close(kept.reshape(-1), center, rtol=1e-6, atol=1e-9)


def test_the_references_agree_with_closed_forms() -> None:
    # sanity of the transcriptions themselves on inputs whose loss is known
    z = _views(1)[0]
    assert math.isclose(float(byol_pair(z, 3 * z)), 0.0, abs_tol=1e-12)
    assert math.isclose(float(neg_cos(z, z)), -1.0, rel_tol=1e-12)
    assert math.isclose(float(barlow_twins(z, z, 0.0, eps=0.0)), 0.0, abs_tol=1e-12)
    # NT-Xent at infinite temperature: every logit equal, loss log(2N - 1)
    assert math.isclose(float(nt_xent(z, z, 1e12)), math.log(2 * B - 1), rel_tol=1e-9)
