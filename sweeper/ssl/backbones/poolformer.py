"""PoolFormer (Yu et al., "MetaFormer Is Actually What You Need for Vision", CVPR 2022).

A MetaFormer whose token mixer is average pooling: four stages of blocks
``x + s1 * (pool(GN(x)) - GN(x))`` then ``x + s2 * MLP(GN(x))`` (GN: GroupNorm with one
group, MLP: two 1x1 convolutions with GELU, s1 and s2: per-channel layer scales), a strided
convolution embedding the image and another one between stages. The features are the
final GroupNorm's output averaged over positions.

Parameter names follow the paper's reference code, which solo-learn ships, so a solo-learn
checkpoint's ``backbone.*`` keys load as they are (timm's ``poolformer_*`` are built on its
MetaFormer class and name their parameters differently).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from sweeper.ssl.backbones.registry import BACKBONES

__all__ = ["POOLFORMERS", "PoolFormer", "build_poolformer"]

# layers per stage, embedding width per stage, initial layer-scale value
POOLFORMERS: dict[str, tuple[tuple[int, ...], tuple[int, ...], float]] = {
    "poolformer_s12": ((2, 2, 6, 2), (64, 128, 320, 512), 1e-5),
    "poolformer_s24": ((4, 4, 12, 4), (64, 128, 320, 512), 1e-5),
    "poolformer_s36": ((6, 6, 18, 6), (64, 128, 320, 512), 1e-6),
    "poolformer_m36": ((6, 6, 18, 6), (96, 192, 384, 768), 1e-6),
    "poolformer_m48": ((8, 8, 24, 8), (96, 192, 384, 768), 1e-6),
}


class _Embed(nn.Module):
    """A strided convolution: the image's patch embedding or a stage's downsampling."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, padding: int) -> None:
        super().__init__()
        self.proj = nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=padding)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x)


class _PoolMixer(nn.Module):
    """Average pooling minus identity: the block's residual adds the identity back."""

    def __init__(self, pool_size: int) -> None:
        super().__init__()
        self.pool = nn.AvgPool2d(pool_size, stride=1, padding=pool_size // 2,
                                 count_include_pad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(x) - x


class _ConvMlp(nn.Module):
    def __init__(self, dim: int, hidden: int, drop: float) -> None:
        super().__init__()
        self.fc1 = nn.Conv2d(dim, hidden, 1)
        self.act = nn.GELU()
        self.fc2 = nn.Conv2d(hidden, dim, 1)
        self.drop = nn.Dropout(drop)
        for conv in (self.fc1, self.fc2):
            nn.init.trunc_normal_(conv.weight, std=0.02)
            if conv.bias is not None:
                nn.init.zeros_(conv.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(self.fc2(self.drop(self.act(self.fc1(x)))))


class _DropPath(nn.Module):
    """Stochastic depth: drops a whole residual branch per sample while training."""

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(1 - self.p)
        return x * keep / (1 - self.p)


class _Block(nn.Module):
    def __init__(self, dim: int, pool_size: int, mlp_ratio: float, drop: float,
                 drop_path: float, use_layer_scale: bool, layer_scale_init_value: float
                 ) -> None:
        super().__init__()
        self.norm1 = nn.GroupNorm(1, dim)
        self.token_mixer = _PoolMixer(pool_size)
        self.norm2 = nn.GroupNorm(1, dim)
        self.mlp = _ConvMlp(dim, int(dim * mlp_ratio), drop)
        self.drop_path = _DropPath(drop_path)
        self.use_layer_scale = use_layer_scale
        if use_layer_scale:
            self.layer_scale_1 = nn.Parameter(torch.full((dim,), layer_scale_init_value))
            self.layer_scale_2 = nn.Parameter(torch.full((dim,), layer_scale_init_value))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mixed = self.token_mixer(self.norm1(x))
        if self.use_layer_scale:
            mixed = self.layer_scale_1[:, None, None] * mixed
        x = x + self.drop_path(mixed)
        mlp = self.mlp(self.norm2(x))
        if self.use_layer_scale:
            mlp = self.layer_scale_2[:, None, None] * mlp
        return x + self.drop_path(mlp)


class PoolFormer(nn.Module):
    """PoolFormer backbone: images ``B x C x H x W`` to ``B x embed_dims[-1]`` features.

    The keyword arguments are those solo-learn's ``backbone.kwargs`` may set.

    Example:
        >>> net = PoolFormer((2, 2, 6, 2), (64, 128, 320, 512))
        >>> net(torch.zeros(2, 3, 32, 32)).shape, net.num_features
        (torch.Size([2, 512]), 512)
    """

    def __init__(self, layers: tuple[int, ...], embed_dims: tuple[int, ...],
                 in_channels: int = 3, mlp_ratios: tuple[float, ...] | None = None,
                 pool_size: int = 3, in_patch_size: int = 7, in_stride: int = 4,
                 in_pad: int = 2, down_patch_size: int = 3, down_stride: int = 2,
                 down_pad: int = 1, drop_rate: float = 0.0, drop_path_rate: float = 0.0,
                 use_layer_scale: bool = True, layer_scale_init_value: float = 1e-5) -> None:
        super().__init__()
        if len(layers) != len(embed_dims) or not layers:
            raise ValueError(f"poolformer: layers {layers} and embed_dims {embed_dims} must "
                             f"name the same number (at least one) of stages")
        ratios = mlp_ratios if mlp_ratios is not None else (4.0,) * len(layers)
        self.num_features = embed_dims[-1]
        self.patch_embed = _Embed(in_channels, embed_dims[0], in_patch_size, in_stride, in_pad)
        total, network = sum(layers), list[nn.Module]()
        for i, (depth, dim) in enumerate(zip(layers, embed_dims, strict=True)):
            first = sum(layers[:i])
            network.append(nn.Sequential(*[
                _Block(dim, pool_size, ratios[i], drop_rate,
                       drop_path_rate * (first + j) / max(total - 1, 1), use_layer_scale,
                       layer_scale_init_value) for j in range(depth)]))
            if i + 1 < len(layers):
                network.append(_Embed(dim, embed_dims[i + 1], down_patch_size, down_stride,
                                      down_pad))
        self.network = nn.ModuleList(network)
        self.norm = nn.GroupNorm(1, embed_dims[-1])
        self.head = nn.Identity()  # solo-learn builds it with num_classes=0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.patch_embed(x)
        for stage in self.network:
            x = stage(x)
        return self.head(self.norm(x).mean((-2, -1)))


_KWARGS = ("mlp_ratios", "pool_size", "in_patch_size", "in_stride", "in_pad",
           "down_patch_size", "down_stride", "down_pad", "drop_rate", "drop_path_rate",
           "use_layer_scale", "layer_scale_init_value")


@BACKBONES.register(*POOLFORMERS, smallest=3)  # a 7x7 patch embedding padded by 2
def build_poolformer(name: str, in_channels: int, image_size: int, /,
                     small_stem: bool | None = None, **kwargs: Any) -> tuple[nn.Module, int]:
    """solo-learn's ``poolformer_*`` ``name`` with its ``backbone.kwargs``.

    Raises:
        ValueError: for an unknown keyword argument, listing the allowed ones.
    """
    unknown = sorted(set(kwargs) - set(_KWARGS))
    if unknown:
        raise ValueError(f"{name}: unknown backbone.kwargs {unknown}; allowed: "
                         f"{', '.join(_KWARGS)}")
    layers, dims, scale = POOLFORMERS[name]
    kwargs.setdefault("layer_scale_init_value", scale)
    if "mlp_ratios" in kwargs:
        kwargs["mlp_ratios"] = tuple(float(r) for r in kwargs["mlp_ratios"])
    net = PoolFormer(layers, dims, in_channels=in_channels, **kwargs)
    return net, net.num_features
