"""Training images held on the training device (``data.on_device``): batches by index there.

A dataset whose decoded images are in memory (:class:`~sweeper.ssl.data.images.TensorImages`:
digits, CIFAR-10/100, STL-10, and image folders that fit the decoded-image cache) can be
moved to the training device once, as it is (uint8 for images, float for digits). Each step
then gathers its batch there, by the same seeded index batches the loader would hand out
(:class:`~sweeper.ssl.data.loader.EpochBatchSampler`): no loader processes, no pinned
buffers, no host-to-device copy per step.

``data.on_device``: ``auto`` (the default) holds the images on a CUDA device when they take
less than :data:`AUTO_FRACTION` of its free memory; ``true`` holds them on any device (on the
CPU it is the in-process gather the loader does anyway), refused for image files decoded
per epoch; ``false`` always uses the loader.

The batches, and the global random stream the views draw from, are the loader's: each epoch's
iterator draws the one seed a ``DataLoader`` iterator draws, so a run trains the same with the
key on or off.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch

from sweeper.schema import ConfigError
from sweeper.ssl.data.images import ImageSet, TensorImages
from sweeper.ssl.data.loader import EpochBatchSampler

__all__ = ["AUTO_FRACTION", "ON_DEVICE", "DeviceBatches", "check_held", "check_on_device",
           "use_on_device"]

ON_DEVICE = ("auto", "true", "false")
AUTO_FRACTION = 0.25  # of the device's free memory, for `auto`


def _word(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool | str) else repr(value)


def check_on_device(data: Any) -> str:
    """``data.on_device`` as one of :data:`ON_DEVICE` (missing: ``auto``).

    Raises:
        ConfigError: for any other value, naming it and the allowed ones.
    """
    value = data.get("on_device", "auto") if data is not None else "auto"
    word = _word(value)
    if word not in ON_DEVICE:
        raise ConfigError(f"data.on_device={value!r} is not allowed; choose one of: "
                          f"{', '.join(ON_DEVICE)}")
    return word


def check_held(data: Any, train_set: ImageSet) -> str:
    """``data.on_device`` checked against the training set (:func:`check_on_device`, and
    ``true`` only for images held in memory), before training starts.

    Raises:
        ConfigError: for a bad value, or ``true`` on image files decoded every epoch.
    """
    word = check_on_device(data)
    if word == "true" and not isinstance(train_set, TensorImages):
        raise ConfigError(
            f"data.on_device=true: dataset {data.get('dataset')!r} is read from image "
            "files decoded every epoch, not held in memory (raise data.cache.max_gb so "
            "it is decoded once, or set data.on_device=auto)")
    return word


def use_on_device(data: Any, train_set: ImageSet, device: torch.device) -> bool:
    """Whether the training images go to ``device`` (see the module's description).

    Raises:
        ConfigError: as :func:`check_held`.
    """
    word = check_held(data, train_set)
    if word != "auto":
        return word == "true"
    if not isinstance(train_set, TensorImages) or device.type != "cuda":
        return False
    free, _ = torch.cuda.mem_get_info(device)
    nbytes = train_set.images.nbytes + train_set.labels.nbytes
    return nbytes < AUTO_FRACTION * free


class DeviceBatches:
    """Iterable of ``(images, labels)`` (``(images, labels, ids)`` with ``sample_ids``)
    gathered on the images' device by ``sampler``'s index batches.

    ``sampler`` is exposed as ``.sampler``, where Lightning's ``set_epoch`` reaches it, as
    it does a loader's.

    Example:
        >>> on = DeviceBatches(TensorImages(images, labels), sampler, torch.device("cuda"))
        >>> for x, y in on: ...  # x, y already on the device
    """

    def __init__(self, ds: TensorImages, sampler: EpochBatchSampler, device: torch.device,
                 sample_ids: bool = False) -> None:
        self.images = ds.images.to(device)
        self.labels = ds.labels.to(device)
        self.sampler, self.sample_ids, self.device = sampler, sample_ids, device

    def __len__(self) -> int:
        return len(self.sampler)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, ...]]:
        # A DataLoader iterator draws one int64 from the global generator for its workers'
        # seeds; draw it too, so the views' random stream does not depend on data.on_device.
        torch.empty((), dtype=torch.int64).random_()
        batches = list(self.sampler)
        if not batches:
            return
        # the epoch's indices in one copy: a copy per step would wait for the device each time
        flat = torch.as_tensor([i for b in batches for i in b], dtype=torch.long)
        for idx in flat.to(self.device).split([len(b) for b in batches]):
            out = (self.images[idx], self.labels[idx])
            yield (*out, idx) if self.sample_ids else out
