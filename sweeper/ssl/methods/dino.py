"""DINO (Caron et al., ICCV 2021): self-distillation with no labels.

Student and EMA teacher share the architecture (backbone + ``DINOProjectionHead``: MLP to a
``proj_output_dim`` bottleneck, L2 norm, weight-normalized layer to ``num_prototypes``).
``L = sum_{t != s} H(softmax((g_t - c) / T_t), softmax(f_s / T_s))`` averaged over pairs, the
teacher sees the first two (global) views, the center ``c`` is an EMA of teacher outputs
(lightly's ``DINOLoss``). The monitored projector output is the bottleneck.
"""

from __future__ import annotations

import warnings
from typing import cast

import torch
from lightly.loss import DINOLoss
from lightly.models.modules import DINOProjectionHead
from lightly.models.utils import deactivate_requires_grad
from torch import nn

from sweeper.ssl.methods.base import MomentumMethod, frozen_copy, view_pairs


class DINO(MomentumMethod):
    name = "dino"

    def __init__(self, backbone: nn.Module, feat_dim: int, proj_hidden_dim: int,
                 proj_output_dim: int, num_prototypes: int, norm_last_layer: bool,
                 clip_grad: float, freeze_last_layer: int, student_temperature: float,
                 teacher_temperature: float, warmup_teacher_temperature: float,
                 warmup_teacher_temperature_epochs: int) -> None:
        super().__init__(backbone, feat_dim)
        def head() -> DINOProjectionHead:
            with warnings.catch_warnings():  # lightly's head uses the old weight_norm
                warnings.simplefilter("ignore", FutureWarning)
                return DINOProjectionHead(
                    feat_dim, proj_hidden_dim, proj_output_dim, num_prototypes,
                    freeze_last_layer=freeze_last_layer, norm_last_layer=norm_last_layer)

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

    def loss(self, views: list[torch.Tensor], epoch: int) -> torch.Tensor:
        view_pairs(len(views))
        student = [self.projector(self.backbone(v)) for v in views]
        teacher = self.teacher(views[:2])
        return self.criterion(teacher, student, epoch=epoch)

    def after_backward(self, epoch: int) -> None:
        if self.clip_grad > 0:
            nn.utils.clip_grad_norm_(self.parameters(), self.clip_grad)
        cast(DINOProjectionHead, self.projector).cancel_last_layer_gradients(epoch)
