"""Backbones, one module per family, each registering its members in :data:`BACKBONES`:
the small CPU CNNs (``cnn``), torchvision's ResNets (``resnet``), wide ResNets
(``wide_resnet``), timm's ViTs (``vit``), Swin transformers (``swin``), ConvNeXts
(``convnext``) and PoolFormers (``poolformer``), at solo-learn's names and sizes; mocov3's
and mae's own ViTs (``vit_mocov3``, ``vit_mae``, on ``vit_sincos``) register as those methods'
variants of the ``vit_*`` names.

Adding a backbone: a builder in its family's module under ``@BACKBONES.register(name,
smallest=...)`` (a new family: a new module, imported below), and ``conf/backbone/<name>.yaml``.
"""

# The import order is the order BACKBONES lists the names in (error messages, docs): the
# small CNNs first, then solo-learn's families as its docs list them.
# isort: off
from sweeper.ssl.backbones.registry import (
    BACKBONES, SMALL_IMAGE, Backbone, BackboneRegistry, Builder, build_backbone, variant_method)
from sweeper.ssl.backbones import cnn, resnet, wide_resnet, vit, swin, convnext, poolformer
from sweeper.ssl.backbones import vit_mocov3, vit_mae
# isort: on

__all__ = ["BACKBONES", "SMALL_IMAGE", "Backbone", "BackboneRegistry", "Builder",
           "build_backbone", "cnn", "convnext", "poolformer", "resnet", "swin",
           "variant_method", "vit", "vit_mae", "vit_mocov3", "wide_resnet"]
