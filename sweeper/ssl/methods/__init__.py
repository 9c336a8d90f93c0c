"""JE-SSL methods, one file each on :class:`~sweeper.ssl.methods.base.SSLMethod`, and the
solo-learn methods this project refuses, each with its reason."""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

from torch import nn

from sweeper.ssl.methods.all4one import All4One
from sweeper.ssl.methods.barlow_twins import BarlowTwins
from sweeper.ssl.methods.base import SSLMethod
from sweeper.ssl.methods.byol import BYOL
from sweeper.ssl.methods.deepclusterv2 import DeepClusterV2
from sweeper.ssl.methods.dino import DINO
from sweeper.ssl.methods.mae import MAE
from sweeper.ssl.methods.mocov2plus import MoCoV2Plus
from sweeper.ssl.methods.mocov3 import MoCoV3
from sweeper.ssl.methods.nnbyol import NNBYOL
from sweeper.ssl.methods.nnclr import NNCLR
from sweeper.ssl.methods.nnsiam import NNSiam
from sweeper.ssl.methods.ressl import ReSSL
from sweeper.ssl.methods.simclr import SimCLR
from sweeper.ssl.methods.simsiam import SimSiam
from sweeper.ssl.methods.swav import SwAV
from sweeper.ssl.methods.vibcreg import VIbCReg
from sweeper.ssl.methods.vicreg import VICReg
from sweeper.ssl.methods.wmse import WMSE

__all__ = ["METHODS", "REFUSED", "SSLMethod", "build_method", "refusal"]

METHODS: dict[str, type[SSLMethod]] = {
    cls.name: cls for cls in (SimCLR, VICReg, BYOL, BarlowTwins, MoCoV3, DINO, SimSiam,
                              NNCLR, NNBYOL, NNSiam, MoCoV2Plus, ReSSL, SwAV, DeepClusterV2,
                              VIbCReg, WMSE, MAE, All4One)
}

# solo-learn methods (solo/methods, commit 9187ea3) this project does not train, and why.
REFUSED: dict[str, str] = {
    "supcon": "SupCon is supervised contrastive learning: it needs the class labels in "
              "pretraining, and this project selects hyperparameters without labels",
}


def refusal(name: str) -> str | None:
    """Why method ``name`` is refused, or None for a method this project trains."""
    reason = REFUSED.get(str(name))
    return f"method {name!r} is refused: {reason}" if reason else None


def build_method(name: str, backbone: nn.Module, feat_dim: int,
                 method_kwargs: Mapping[str, Any]) -> SSLMethod:
    """Build method ``name`` around ``backbone`` with its ``method_kwargs``.

    Raises:
        ValueError: for a refused method (with the reason), an unknown one (listing the
            known ones) or a missing/unknown keyword (listing the accepted ones).
    """
    reason = refusal(name)
    if reason:
        raise ValueError(reason)
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
