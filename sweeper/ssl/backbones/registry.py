"""The backbone registry: each family module registers its members here, by name.

A builder takes ``(name, in_channels, image_size, /, small_stem=None, **kwargs)`` and returns
the module (images ``B x C x H x W`` -> features ``B x K``) and K; ``kwargs`` are the
config's ``backbone.kwargs``. One builder may serve a whole family: it gets the member's name.
A method may register its own variant of a member, as solo-learn's mocov3 and mae build their
own ViTs for every ``vit_*`` name: :func:`build_backbone` picks it for that method.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from torch import nn

__all__ = ["BACKBONES", "SMALL_IMAGE", "Backbone", "BackboneRegistry", "Builder",
           "build_backbone", "variant_method"]

# Images up to this size get the CIFAR stem (ResNets) or 4-pixel patches (ViTs), as solo-learn
# does for CIFAR: an ImageNet stem would shrink a 32 px image to 8 px before the first block.
# solo-learn picks the stem by dataset (cifar10/cifar100); a solo-learn checkpoint's
# args.json names its dataset and ``small_stem`` then follows it.
SMALL_IMAGE = 64

Builder = Callable[..., tuple[nn.Module, int]]
B = TypeVar("B", bound=Builder)


@dataclass
class Backbone:
    """One registered backbone: its builder, the smallest square image side it builds for
    and runs on (the registry's test builds it there), and the builders of the methods that
    build their own variant of it (method -> builder)."""

    name: str
    build: Builder
    smallest: int
    variants: dict[str, Builder] = field(default_factory=dict)


class BackboneRegistry(Mapping[str, Backbone]):
    """Backbones by name, in the order their family modules registered them.

    Example:
        >>> registry = BackboneRegistry()
        >>> @registry.register("flat", smallest=1)
        ... def build_flat(name, in_channels, image_size, /, small_stem=None, **kwargs):
        ...     return nn.Flatten(), in_channels * image_size ** 2
        >>> registry.build("flat", 3, 2)[1], list(registry)
        (12, ['flat'])
    """

    def __init__(self) -> None:
        self._entries: dict[str, Backbone] = {}

    def __getitem__(self, name: str) -> Backbone:
        return self._entries[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def register(self, *names: str, smallest: int) -> Callable[[B], B]:
        """A decorator registering its builder as backbones ``names`` (one builder may serve
        a family), each building for images from ``smallest`` px up.

        Raises:
            ValueError: if a name is taken: two families must not claim one name.
        """

        def register(build: B) -> B:
            for name in names:
                if name in self._entries:
                    raise ValueError(f"backbone {name!r} is registered twice")
                self._entries[name] = Backbone(name, build, smallest)
            return build

        return register

    def register_variant(self, method: str, *names: str) -> Callable[[B], B]:
        """A decorator registering its builder as ``method``'s own variant of backbones
        ``names``.

        Raises:
            ValueError: if a name is not registered (a variant replaces a member, it adds
                none) or already has a variant for ``method``.
        """

        def register(build: B) -> B:
            for name in names:
                if name not in self._entries:
                    raise ValueError(f"{method}'s variant of backbone {name!r}: no such "
                                     "backbone")
                variants = self._entries[name].variants
                if method in variants:
                    raise ValueError(f"{method}'s variant of backbone {name!r} is "
                                     "registered twice")
                variants[method] = build
            return build

        return register

    def variant_method(self, method: str | None, name: str) -> str | None:
        """The method whose own variant of backbone ``name`` it builds, or None for the
        plain one. Our checkpoints record it: those written before the variants existed hold
        plain timm ViTs whatever their method."""
        entry = self._entries.get(name)
        return method if method is not None and entry and method in entry.variants else None

    def build(self, name: str, in_channels: int, image_size: int,
              kwargs: Mapping[str, Any] | None = None, small_stem: bool | None = None,
              method: str | None = None) -> tuple[nn.Module, int]:
        """Build backbone ``name`` for ``in_channels`` x ``image_size`` px images.

        ``small_stem`` forces the CIFAR stem on or off; None picks it for images up to
        ``SMALL_IMAGE`` px. ``method`` picks the method's own variant where it has one
        (mocov3 and mae with a ViT).

        Returns:
            The module (images -> ``B x K`` features) and K.

        Raises:
            ValueError: for an unknown name, listing the known ones.
        """
        if name not in self._entries:
            raise ValueError(f"unknown backbone {name!r}; choose one of: {', '.join(self)}")
        entry = self._entries[name]
        build = entry.variants.get(str(method), entry.build)
        return build(name, in_channels, image_size, small_stem=small_stem,
                     **dict(kwargs or {}))


# Every family module registers into this one (``@BACKBONES.register``); the package's
# ``__init__`` imports them all.
BACKBONES = BackboneRegistry()
build_backbone = BACKBONES.build
variant_method = BACKBONES.variant_method
