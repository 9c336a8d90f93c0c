"""solo-learn's MoCo v3 ViT: timm's ViT with a fixed 2-D sin-cos position embedding.

With ``method: mocov3`` solo-learn builds this ViT in place of timm's plain one for every
``vit_*`` backbone (``solo/backbones/vit/vit_mocov3.py`` at commit 9187ea3, after
facebookresearch/moco-v3). Chen et al. (2021) found a fixed position embedding steadies
self-supervised ViT training; MoCo v3 also initialises the weights its own way. What differs
from timm's ViT of the same name:

- the position embedding is a 2-D sin-cos code (a zero row for the class token) that is never
  trained (``requires_grad`` False, so no optimizer holds it);
- every size has 12 heads (vit_large 16): ViT-Tiny's and ViT-Small's head counts differ from
  timm's 3 and 6, so the features differ while the parameter shapes do not;
- Q, K and V each get a Xavier-uniform bound of their own, every other linear layer
  Xavier-uniform, every linear bias zero, the class token N(0, 1e-6), the patch projection
  Xavier-uniform as if it were a linear layer.

Parameter names and shapes are timm's, so a solo-learn mocov3 checkpoint's ``backbone.*``
keys load as they are. The sizes, the position code and the checks are shared with MAE's ViT
(``vit_sincos``); this module adds MoCo v3's initialisation.
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any

from torch import nn

from sweeper.ssl.backbones.registry import BACKBONES
from sweeper.ssl.backbones.vit import vit_backbone
from sweeper.ssl.backbones.vit_sincos import SINCOS_VITS, SinCosViT, sincos_vit

__all__ = ["MoCoV3ViT", "mocov3_vit"]


class MoCoV3ViT(SinCosViT):
    """timm's ``VisionTransformer`` with MoCo v3's fixed position code and initialisation.

    Takes timm's keyword arguments; the grid must be square and the class token the only
    prefix token.

    >>> import torch
    >>> net = MoCoV3ViT(img_size=8, patch_size=4, embed_dim=16, depth=1, num_heads=2,
    ...                 num_classes=0)
    >>> net.pos_embed.shape, net.pos_embed.requires_grad, net(torch.zeros(2, 3, 8, 8)).shape
    (torch.Size([1, 5, 16]), False, torch.Size([2, 16]))
    """

    label = "MoCo v3"

    def init_method_weights(self) -> None:
        for name, module in self.named_modules():
            if isinstance(module, nn.Linear):
                if "qkv" in name:  # Q, K and V are three maps, each with its own fan-out
                    fan_out, fan_in = module.weight.shape
                    bound = math.sqrt(6.0 / (fan_out // 3 + fan_in))
                    nn.init.uniform_(module.weight, -bound, bound)
                else:
                    nn.init.xavier_uniform_(module.weight)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
        assert self.cls_token is not None  # checked in __init__
        nn.init.normal_(self.cls_token, std=1e-6)
        # the patch projection as a linear map: fan-in is in_chans x patch area (solo-learn
        # writes 3 x patch area: the same for its RGB data)
        proj = self.patch_embed.proj
        fan_in = math.prod(proj.weight.shape[1:])
        bound = math.sqrt(6.0 / (fan_in + self.embed_dim))
        nn.init.uniform_(proj.weight, -bound, bound)
        if proj.bias is not None:
            nn.init.zeros_(proj.bias)


def mocov3_vit(name: str, **kwargs: Any) -> MoCoV3ViT:
    """solo-learn's MoCo v3 ``name`` (vit_tiny/small/base/large) with timm's ``kwargs``
    (``img_size``, ``patch_size``, ``in_chans``, ``drop_path_rate``...).

    Raises:
        ValueError: for an unknown name, or kwargs that would change the fixed sizes.
    """
    return sincos_vit(MoCoV3ViT, name, kwargs)


@BACKBONES.register_variant("mocov3", *SINCOS_VITS)
def build_mocov3_vit(name: str, in_channels: int, image_size: int, /,
                     small_stem: bool | None = None, **kwargs: Any) -> tuple[nn.Module, int]:
    return vit_backbone(name, partial(mocov3_vit, name), in_channels, image_size, kwargs)
