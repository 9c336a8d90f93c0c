"""solo-learn's LARS step without a host sync per parameter, for CUDA devices.

:class:`~sweeper.ssl.optim.SoloLARS` steps one parameter at a time and asks, in Python,
whether each parameter's and gradient's norms are zero: on a GPU every such question waits
for the device, twice per parameter (about 120 waits per ResNet-18 step), and every
parameter costs its own handful of small kernels. :class:`ForeachLARS` computes the same
update for a whole parameter group with torch's multi-tensor (``_foreach_*``) kernels, the
zero-norm cases chosen on the device with ``torch.where``; state (``momentum_buffer``) and
checkpoints are :class:`SoloLARS`'s, so either can resume the other. Equal to
:class:`SoloLARS` within float32 rounding (``tests/ssl/test_fast_step.py``).
"""

from __future__ import annotations

from typing import Any

import torch

from sweeper.ssl.optim import SoloLARS

__all__ = ["ForeachLARS"]


class ForeachLARS(SoloLARS):
    """:class:`SoloLARS` with its step over each group in multi-tensor kernels."""

    def _step_group(self, group: dict[str, Any], params: list[torch.Tensor]) -> None:
        lr, wd, mom = group["lr"], group["weight_decay"], group["momentum"]
        grads = [p.grad for p in params]
        # the layer-wise rate for parameters LARS scales (all, or all but 1-D ones)
        scaled = [i for i, p in enumerate(params)
                  if p.ndim != 1 or not group["exclude_bias_n_norm"]]
        d_p: list[torch.Tensor] = list(grads)  # type: ignore[arg-type]
        if scaled:
            ps = [params[i] for i in scaled]
            gs = [d_p[i] for i in scaled]
            p_norm = torch.stack(torch._foreach_norm(ps))
            g_norm = torch.stack(torch._foreach_norm(gs))
            rate = group["trust_coefficient"] * p_norm / (
                g_norm + p_norm * wd + group["eps"])
            if group["clip_lr"]:
                rate = torch.clamp(rate / lr, max=1.0)
            hit = (p_norm != 0) & (g_norm != 0)  # else the gradient as it is, undecayed
            rate = torch.where(hit, rate, torch.ones_like(rate))
            decay = torch.where(hit, torch.full_like(rate, wd), torch.zeros_like(rate))
            # (g + decay * p) * rate, decay and rate per parameter, on the device
            new = torch._foreach_add(gs, torch._foreach_mul(ps, list(decay.unbind())))
            torch._foreach_mul_(new, list(rate.unbind()))
            for i, value in zip(scaled, new, strict=True):
                d_p[i] = value
        if mom != 0:
            old = [i for i, p in enumerate(params) if "momentum_buffer" in self.state[p]]
            if old:
                kept = [self.state[params[i]]["momentum_buffer"] for i in old]
                torch._foreach_mul_(kept, mom)
                torch._foreach_add_(kept, [d_p[i] for i in old], alpha=1 - group["dampening"])
            for p, d in zip(params, d_p, strict=True):
                if "momentum_buffer" not in self.state[p]:
                    self.state[p]["momentum_buffer"] = torch.clone(d).detach()
            bufs = [self.state[p]["momentum_buffer"] for p in params]
            d_p = (list(torch._foreach_add(d_p, bufs, alpha=mom)) if group["nesterov"]
                   else bufs)
        torch._foreach_add_(params, d_p, alpha=-lr)
