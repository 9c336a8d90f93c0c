"""solo-learn's MAE ViT: timm's ViT with MAE's fixed 2-D sin-cos position embedding.

With ``method: mae`` solo-learn builds this ViT in place of timm's plain one for every
``vit_*`` backbone (``solo/backbones/vit/vit_mae.py`` at commit 9187ea3, after
facebookresearch/mae). What differs from timm's ViT of the same name:

- the position embedding is MAE's 2-D sin-cos code (column half first, computed in float64;
  a zero row for the class token) that is never trained (``requires_grad`` False);
- every size has 12 heads (vit_large 16): ViT-Tiny's and ViT-Small's head counts differ from
  timm's 3 and 6, so the features differ while the parameter shapes do not;
- MAE's initialisation: every linear layer Xavier-uniform with a zero bias, LayerNorms weight 1
  and bias 0, the class token N(0, 0.02), the patch projection's weight Xavier-uniform as if
  it were a linear layer (its bias keeps the convolution's default).

solo-learn's class also carries MAE's masking (``forward_encoder``); here the method masks
with lightly's ``MaskedVisionTransformerTIMM`` around this ViT (``methods/mae.py``), and the
ViT's own ``forward`` gives the class token after the final norm, what solo-learn's
``forward(imgs)`` gives with ``mask_ratio`` 0. solo-learn rebuilds the patch embedding, the
blocks and the final norm from ``img_size``, ``patch_size`` and ``in_chans`` alone, so it
ignores timm's other options (``drop_path_rate``, ``qkv_bias``...): this ViT refuses them.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import torch
from torch import nn

from sweeper.ssl.backbones.registry import BACKBONES
from sweeper.ssl.backbones.vit import vit_backbone
from sweeper.ssl.backbones.vit_sincos import SINCOS_VITS, SinCosViT, sincos_vit

__all__ = ["MAE_VIT_KWARGS", "MAEViT", "mae_vit"]

# the backbone.kwargs solo-learn's MAE ViT honours
MAE_VIT_KWARGS = ("img_size", "patch_size", "in_chans")


class MAEViT(SinCosViT):
    """timm's ``VisionTransformer`` with MAE's fixed position code and initialisation.

    Takes timm's keyword arguments; the grid must be square and the class token the only
    prefix token.

    >>> net = MAEViT(img_size=8, patch_size=4, embed_dim=16, depth=1, num_heads=2,
    ...              num_classes=0)
    >>> net.pos_embed.shape, net.pos_embed.requires_grad, net(torch.zeros(2, 3, 8, 8)).shape
    (torch.Size([1, 5, 16]), False, torch.Size([2, 16]))
    """

    label = "MAE"
    columns_first = True
    code_dtype = torch.float64

    def init_method_weights(self) -> None:
        proj = self.patch_embed.proj.weight
        nn.init.xavier_uniform_(proj.detach().view(proj.shape[0], -1))  # fans of a linear map
        assert self.cls_token is not None  # checked in SinCosViT
        nn.init.normal_(self.cls_token, std=0.02)
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.xavier_uniform_(module.weight)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.LayerNorm):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)


def mae_vit(name: str, **kwargs: Any) -> MAEViT:
    """solo-learn's MAE ``name`` (vit_tiny/small/base/large) for ``img_size``,
    ``patch_size`` and ``in_chans``.

    Raises:
        ValueError: for an unknown name or any other kwargs.
    """
    return sincos_vit(MAEViT, name, kwargs, accepted=MAE_VIT_KWARGS)


@BACKBONES.register_variant("mae", *SINCOS_VITS)
def build_mae_vit(name: str, in_channels: int, image_size: int, /,
                  small_stem: bool | None = None, **kwargs: Any) -> tuple[nn.Module, int]:
    return vit_backbone(name, partial(mae_vit, name), in_channels, image_size, kwargs)
