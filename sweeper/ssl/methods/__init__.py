"""JE-SSL methods, one file each on :class:`~sweeper.ssl.methods.base.SSLMethod`."""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

from torch import nn

from sweeper.ssl.methods.barlow_twins import BarlowTwins
from sweeper.ssl.methods.base import SSLMethod
from sweeper.ssl.methods.byol import BYOL
from sweeper.ssl.methods.dino import DINO
from sweeper.ssl.methods.mocov3 import MoCoV3
from sweeper.ssl.methods.simclr import SimCLR
from sweeper.ssl.methods.simsiam import SimSiam
from sweeper.ssl.methods.vicreg import VICReg

__all__ = ["METHODS", "SSLMethod", "build_method"]

METHODS: dict[str, type[SSLMethod]] = {
    cls.name: cls for cls in (SimCLR, VICReg, BYOL, BarlowTwins, MoCoV3, DINO, SimSiam)
}


def build_method(name: str, backbone: nn.Module, feat_dim: int,
                 method_kwargs: Mapping[str, Any]) -> SSLMethod:
    """Build method ``name`` around ``backbone`` with its ``method_kwargs``.

    Raises:
        ValueError: for an unknown method (listing the known ones) or a missing/unknown
            keyword (listing the accepted ones).
    """
    if name not in METHODS:
        raise ValueError(f"unknown method {name!r}; choose one of: {', '.join(METHODS)}")
    cls = METHODS[name]
    params = [p for p in inspect.signature(cls.__init__).parameters if p not in
              ("self", "backbone", "feat_dim")]
    unknown = sorted(set(method_kwargs) - set(params))
    required = [p for p, v in inspect.signature(cls.__init__).parameters.items()
                if p in params and v.default is inspect.Parameter.empty]
    missing = sorted(set(required) - set(method_kwargs))
    if unknown or missing:
        what = (f"unknown {unknown}" if unknown else "") + (" and " if unknown and missing
                                                           else "") + (
            f"missing {missing}" if missing else "")
        raise ValueError(f"method_kwargs for {name!r}: {what}; it takes: {', '.join(params)}")
    return cls(backbone, feat_dim, **dict(method_kwargs))
