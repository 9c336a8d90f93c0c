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
keys load as they are.
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any

import torch
from timm.models.vision_transformer import VisionTransformer
from torch import nn

__all__ = ["MOCOV3_VITS", "MoCoV3ViT", "mocov3_vit", "sincos_position_embedding"]

# embedding width, depth, heads (solo-learn's vit_mocov3 sizes)
MOCOV3_VITS: dict[str, tuple[int, int, int]] = {
    "vit_tiny": (192, 12, 12),
    "vit_small": (384, 12, 12),
    "vit_base": (768, 12, 12),
    "vit_large": (1024, 24, 16),
}


def sincos_position_embedding(side: int, dim: int, temperature: float = 10000.0
                              ) -> torch.Tensor:
    """MoCo v3's fixed position code of a ``side x side`` patch grid, class token first.

    Token ``r * side + c`` (timm's row-major patch order) gets
    ``[sin(r w), cos(r w), sin(c w), cos(c w)]`` with the ``dim / 4`` frequencies
    ``w_k = temperature ** (-k / (dim / 4))``; the class token gets zeros.

    Returns:
        ``1 x (side**2 + 1) x dim`` float32.

    Raises:
        ValueError: if ``dim`` is not a multiple of 4.

    >>> code = sincos_position_embedding(2, 4)
    >>> code.shape, code[0, 0].tolist(), code[0, 1].tolist()
    (torch.Size([1, 5, 4]), [0.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 1.0])
    """
    if dim % 4:
        raise ValueError(f"the sin-cos position embedding needs a width divisible by 4, "
                         f"got embed_dim={dim}")
    quarter = dim // 4
    omega = 1.0 / temperature ** (torch.arange(quarter, dtype=torch.float32) / quarter)
    token = torch.arange(side * side)
    rows = torch.outer((token // side).float(), omega)
    cols = torch.outer((token % side).float(), omega)
    code = torch.cat([rows.sin(), rows.cos(), cols.sin(), cols.cos()], dim=1)
    return torch.cat([torch.zeros(1, dim), code])[None]


class MoCoV3ViT(VisionTransformer):
    """timm's ``VisionTransformer`` with MoCo v3's fixed position code and initialisation.

    Takes timm's keyword arguments; the grid must be square and the class token the only
    prefix token.

    >>> net = MoCoV3ViT(img_size=8, patch_size=4, embed_dim=16, depth=1, num_heads=2,
    ...                 num_classes=0)
    >>> net.pos_embed.shape, net.pos_embed.requires_grad, net(torch.zeros(2, 3, 8, 8)).shape
    (torch.Size([1, 5, 16]), False, torch.Size([2, 16]))
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        rows, cols = self.patch_embed.grid_size
        if rows != cols:
            raise ValueError(f"MoCo v3's position embedding is built for a square patch grid, "
                             f"got {rows} x {cols}")
        if self.num_prefix_tokens != 1 or self.cls_token is None:
            raise ValueError("MoCo v3's ViT has exactly one prefix token, the class token "
                             f"(got {self.num_prefix_tokens}: drop class_token/reg_tokens "
                             "from backbone.kwargs)")
        self.pos_embed = nn.Parameter(sincos_position_embedding(rows, self.embed_dim),
                                      requires_grad=False)
        self._init_mocov3()

    def _init_mocov3(self) -> None:
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
    if name not in MOCOV3_VITS:
        raise ValueError(f"no MoCo v3 ViT {name!r}; choose one of: {', '.join(MOCOV3_VITS)}")
    embed_dim, depth, heads = MOCOV3_VITS[name]
    fixed: dict[str, Any] = {
        "embed_dim": embed_dim, "depth": depth, "num_heads": heads, "mlp_ratio": 4,
        "qkv_bias": True, "norm_layer": partial(nn.LayerNorm, eps=1e-6), "num_classes": 0}
    clash = sorted(set(fixed) & set(kwargs))
    if clash:
        raise ValueError(f"{name}: backbone.kwargs {clash} are fixed by solo-learn's MoCo v3 "
                         f"ViT ({embed_dim} wide, {depth} blocks, {heads} heads)")
    return MoCoV3ViT(**fixed, **kwargs)
