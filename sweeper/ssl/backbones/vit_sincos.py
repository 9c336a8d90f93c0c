"""ViTs with a fixed 2-D sin-cos position code, as solo-learn builds them for mocov3 and mae.

With ``method: mocov3`` or ``method: mae`` solo-learn builds a ViT of its own for every
``vit_*`` backbone (``solo/backbones/vit/__init__.py`` at commit 9187ea3): timm's ViT whose
position embedding is a 2-D sin-cos code that is never trained (``requires_grad`` False, a zero
row for the class token), with 12 heads at every size but vit_large (16) where timm's
vit_tiny and vit_small have 3 and 6, LayerNorm eps 1e-6, Q/K/V biases, and the method's own
initialisation. This module holds what the two share: the sizes, the position code, the
checks and the builder; ``vit_mocov3`` and ``vit_mae`` add each method's initialisation.

Parameter names and shapes are timm's, so a solo-learn checkpoint's ``backbone.*`` keys load
as they are.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Collection, Mapping
from functools import partial
from typing import Any, ClassVar, TypeVar

import torch
from timm.models.vision_transformer import VisionTransformer
from torch import nn

__all__ = ["SINCOS_VITS", "SinCosViT", "sincos_position_embedding", "sincos_vit"]

# embedding width, depth, heads: solo-learn's vit_mocov3 and vit_mae sizes (the same)
SINCOS_VITS: dict[str, tuple[int, int, int]] = {
    "vit_tiny": (192, 12, 12),
    "vit_small": (384, 12, 12),
    "vit_base": (768, 12, 12),
    "vit_large": (1024, 24, 16),
}


def sincos_position_embedding(side: int, dim: int, *, columns_first: bool = False,
                              dtype: torch.dtype = torch.float32,
                              temperature: float = 10000.0) -> torch.Tensor:
    """The fixed position code of a ``side x side`` patch grid, class token first.

    Token ``r * side + c`` (timm's row-major patch order) gets
    ``[sin(r w), cos(r w), sin(c w), cos(c w)]`` with the ``dim / 4`` frequencies
    ``w_k = temperature ** (-k / (dim / 4))``; the class token gets zeros. MoCo v3 writes the
    row half first and computes in float32; MAE writes the column half first
    (``columns_first``) and computes in float64 (``dtype``): the same code up to 2e-7 at
    CIFAR's 8 x 8 grid, but each method's own to the last bit.

    Returns:
        ``1 x (side**2 + 1) x dim`` float32.

    Raises:
        ValueError: if ``dim`` is not a multiple of 4.

    >>> code = sincos_position_embedding(2, 4)
    >>> code.shape, code[0, 0].tolist(), code[0, 1].tolist()
    (torch.Size([1, 5, 4]), [0.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 1.0])
    >>> torch.equal(sincos_position_embedding(2, 4, columns_first=True), code[..., [2, 3, 0, 1]])
    True
    """
    if dim % 4:
        raise ValueError(f"the sin-cos position embedding needs a width divisible by 4, "
                         f"got embed_dim={dim}")
    quarter = dim // 4
    omega = 1.0 / temperature ** (torch.arange(quarter, dtype=dtype) / quarter)
    token = torch.arange(side * side)
    rows = torch.outer((token // side).to(dtype), omega)
    cols = torch.outer((token % side).to(dtype), omega)
    first, second = (cols, rows) if columns_first else (rows, cols)
    code = torch.cat([first.sin(), first.cos(), second.sin(), second.cos()], dim=1)
    return torch.cat([torch.zeros(1, dim, dtype=dtype), code]).float()[None]


class SinCosViT(VisionTransformer, ABC):
    """timm's ``VisionTransformer`` with a fixed sin-cos position code; a subclass names the
    method, orders the code (``columns_first``, ``code_dtype``) and initialises the weights.

    Takes timm's keyword arguments; the grid must be square and the class token the only
    prefix token.
    """

    label: ClassVar[str]  # the method, for messages: "MoCo v3", "MAE"
    columns_first: ClassVar[bool] = False
    code_dtype: ClassVar[torch.dtype] = torch.float32

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        rows, cols = self.patch_embed.grid_size
        if rows != cols:
            raise ValueError(f"{self.label}'s position embedding is built for a square patch "
                             f"grid, got {rows} x {cols}")
        if self.num_prefix_tokens != 1 or self.cls_token is None:
            raise ValueError(f"{self.label}'s ViT has exactly one prefix token, the class "
                             f"token (got {self.num_prefix_tokens}: drop class_token/reg_tokens "
                             "from backbone.kwargs)")
        code = sincos_position_embedding(rows, self.embed_dim, columns_first=self.columns_first,
                                         dtype=self.code_dtype)
        self.pos_embed = nn.Parameter(code, requires_grad=False)
        self.init_method_weights()

    @abstractmethod
    def init_method_weights(self) -> None:
        """Draw every trainable weight as the method's ViT does (the position code stays)."""


V = TypeVar("V", bound=SinCosViT)


def sincos_vit(cls: type[V], name: str, kwargs: Mapping[str, Any],
               accepted: Collection[str] | None = None) -> V:
    """``cls`` at solo-learn's size ``name`` (vit_tiny/small/base/large) with timm's
    ``kwargs`` (``img_size``, ``patch_size``, ``in_chans``...); ``accepted``, if given, is
    the only kwargs the method's ViT takes.

    Raises:
        ValueError: for an unknown name, kwargs that would change the fixed sizes, or kwargs
            outside ``accepted``.
    """
    if name not in SINCOS_VITS:
        raise ValueError(f"no {cls.label} ViT {name!r}; choose one of: {', '.join(SINCOS_VITS)}")
    embed_dim, depth, heads = SINCOS_VITS[name]
    fixed: dict[str, Any] = {
        "embed_dim": embed_dim, "depth": depth, "num_heads": heads, "mlp_ratio": 4,
        "qkv_bias": True, "norm_layer": partial(nn.LayerNorm, eps=1e-6), "num_classes": 0}
    sizes = f"{embed_dim} wide, {depth} blocks, {heads} heads"
    clash = sorted(set(fixed) & set(kwargs))
    if clash:
        raise ValueError(f"{name}: backbone.kwargs {clash} are fixed by solo-learn's "
                         f"{cls.label} ViT ({sizes})")
    if accepted is not None:
        other = sorted(set(kwargs) - set(accepted))
        if other:
            raise ValueError(f"{name}: solo-learn's {cls.label} ViT ({sizes}) takes only "
                             f"{', '.join(sorted(accepted))}; got backbone.kwargs {other}")
    return cls(**fixed, **kwargs)
