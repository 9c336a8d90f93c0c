"""DINO (Caron et al., ICCV 2021), as solo-learn trains it.

Student and EMA teacher share the architecture: backbone + head (MLP
``Linear-[BN]-GELU-Linear-[BN]-GELU-Linear`` to a ``proj_output_dim`` bottleneck, L2 norm,
weight-normalized layer to ``num_prototypes``; lightly's ``DINOProjectionHead``, BatchNorm
when ``use_bn_in_head``). ``L = mean_{t != s} H(softmax((g_t - c) / T_t), softmax(f_s / T_s))``
over teacher views ``t`` (the two large crops) and student views ``s``; ``T_t`` rises
linearly from ``warmup_teacher_temperature`` over ``warmup_teacher_temperature_epochs``; the
centre ``c`` is an EMA (0.9) of teacher outputs (lightly's ``DINOLoss``). After backward,
each backbone gradient is clipped to norm ``clip_grad`` on its own (0: off) and the last
layer's gradients are dropped for ``freeze_last_layer`` epochs. The monitored projector
output is the bottleneck.
"""

from __future__ import annotations

import warnings
from typing import cast

import torch
from lightly.loss import DINOLoss
from lightly.models.modules import DINOProjectionHead
from lightly.models.utils import deactivate_requires_grad
from torch import nn

from sweeper.ssl.methods.base import MomentumMethod, frozen_copy, full_precision, view_pairs
from sweeper.ssl.methods.checks import at_least, non_negative, positive


class DINO(MomentumMethod):
    name = "dino"

    def __init__(self, backbone: nn.Module, feat_dim: int, proj_hidden_dim: int,
                 proj_output_dim: int, num_prototypes: int, norm_last_layer: bool,
                 use_bn_in_head: bool, clip_grad: float, freeze_last_layer: int,
                 student_temperature: float, teacher_temperature: float,
                 warmup_teacher_temperature: float,
                 warmup_teacher_temperature_epochs: int) -> None:
        for key, t in (("student_temperature", student_temperature),
                       ("teacher_temperature", teacher_temperature),
                       ("warmup_teacher_temperature", warmup_teacher_temperature)):
            positive(key, t)
        non_negative("clip_grad", clip_grad)
        at_least("freeze_last_layer", freeze_last_layer, 0)
        at_least("warmup_teacher_temperature_epochs", warmup_teacher_temperature_epochs, 0)
        super().__init__(backbone, feat_dim)

        def head() -> DINOProjectionHead:
            with warnings.catch_warnings():  # lightly's head uses the old weight_norm
                warnings.simplefilter("ignore", FutureWarning)
                return DINOProjectionHead(
                    feat_dim, proj_hidden_dim, proj_output_dim, num_prototypes,
                    batch_norm=use_bn_in_head, freeze_last_layer=freeze_last_layer,
                    norm_last_layer=norm_last_layer)

        self.projector = head()
        self.backbone_momentum = frozen_copy(backbone)
        # the old weight_norm cannot be deep-copied: build a twin and copy its weights
        self.projector_momentum = head()
        self.projector_momentum.load_state_dict(self.projector.state_dict())
        deactivate_requires_grad(self.projector_momentum)
        self.criterion = DINOLoss(
            output_dim=num_prototypes, warmup_teacher_temp=warmup_teacher_temperature,
            teacher_temp=teacher_temperature,
            warmup_teacher_temp_epochs=warmup_teacher_temperature_epochs,
            student_temp=student_temperature)
        self.clip_grad = clip_grad

    def project(self, features: torch.Tensor) -> torch.Tensor:
        head = cast(DINOProjectionHead, self.projector)
        return head.layers(features)

    @full_precision
    def objective(self, student: list[torch.Tensor], teacher: list[torch.Tensor],
                  epoch: int) -> torch.Tensor:
        return self.criterion(teacher, student, epoch=epoch)

    def loss(self, views: list[torch.Tensor], epoch: int) -> torch.Tensor:
        view_pairs(len(views))
        student = [self.projector(self.backbone(v)) for v in views]
        return self.objective(student, self.teacher(views[:2]), epoch)

    def after_backward(self, epoch: int) -> None:
        if self.clip_grad:
            for p in self.backbone.parameters():
                if p.grad is not None:
                    coef = self.clip_grad / (p.grad.norm(2) + 1e-6)
                    if coef < 1:
                        p.grad.mul_(coef)
        cast(DINOProjectionHead, self.projector).cancel_last_layer_gradients(epoch)
