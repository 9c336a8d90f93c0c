"""A backbone's constructor called with ``backbone.kwargs``: a keyword it does not take
stops the run with the backbone's name and the constructor's, not a bare ``TypeError``."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from torch import nn

__all__ = ["construct"]

M = TypeVar("M", bound=nn.Module)


def construct(name: str, what: str, make: Callable[[], M]) -> M:
    """``make()``, the call of constructor ``what`` (``timm's VisionTransformer``) with
    backbone ``name``'s kwargs: a call, so that a keyword given twice is caught here too.

    Raises:
        ValueError: when the constructor refuses a keyword.
    """
    try:
        return make()
    except TypeError as err:  # an unknown keyword reaches the constructor
        raise ValueError(f"{name}: backbone.kwargs not accepted by {what}: {err}") from err
