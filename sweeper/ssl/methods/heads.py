"""Projector and predictor MLPs laid out layer by layer as solo-learn builds them.

One builder, :func:`mlp`, covers every head: ``layers`` linear layers, BatchNorm and an
activation after each hidden one, optionally a BatchNorm after the last. The layer order
(and so every ``state_dict`` key, e.g. ``projector.0.weight``) is solo-learn's.

Example:
    >>> mlp(512, 2048, 256, hidden_bn=False)  # SimCLR's projector
    Sequential(
      (0): Linear(in_features=512, out_features=2048, bias=True)
      (1): ReLU()
      (2): Linear(in_features=2048, out_features=256, bias=True)
    )
"""

from __future__ import annotations

from typing import Literal

from torch import nn

__all__ = ["mlp"]


def mlp(in_dim: int, hidden_dim: int, out_dim: int, *, layers: int = 2,
        hidden_bn: bool = True, bias: bool = True, last_bias: bool | None = None,
        last_bn: Literal["affine", "plain"] | None = None,
        activation: type[nn.Module] = nn.ReLU) -> nn.Sequential:
    """``Linear [-BN] -act`` for each hidden layer, then ``Linear [-BN]``.

    Args:
        in_dim, hidden_dim, out_dim: the widths.
        layers: the number of linear layers (>= 1).
        hidden_bn: a BatchNorm1d after each hidden linear layer.
        bias: whether the linear layers have a bias.
        last_bias: the last layer's bias (default: ``bias``).
        last_bn: a BatchNorm1d after the last layer, with (``"affine"``) or without
            (``"plain"``) learnable scale and shift.
        activation: the hidden activation.

    Raises:
        ValueError: for fewer than one layer.
    """
    if layers < 1:
        raise ValueError(f"an MLP needs at least one layer, got {layers}")
    mods: list[nn.Module] = []
    for i in range(layers - 1):
        mods.append(nn.Linear(in_dim if i == 0 else hidden_dim, hidden_dim, bias=bias))
        if hidden_bn:
            mods.append(nn.BatchNorm1d(hidden_dim))
        mods.append(activation())
    mods.append(nn.Linear(in_dim if layers == 1 else hidden_dim, out_dim,
                          bias=bias if last_bias is None else last_bias))
    if last_bn is not None:
        mods.append(nn.BatchNorm1d(out_dim, affine=last_bn == "affine"))
    return nn.Sequential(*mods)
