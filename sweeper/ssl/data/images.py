"""The two kinds of image set a dataset becomes: images held in memory, and image files
decoded by the loader's workers.

Both index by one int (an image) or by a batch of ints (a stacked batch), so loaders hand them
whole index batches; both yield ``(images, labels)`` with labels int64, -1 where there are
none.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset
from torchvision.transforms.v2 import functional as F

__all__ = ["IMAGE_SUFFIXES", "FolderImages", "ImageSet", "TensorImages", "UnreadableImage"]

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".ppm")


class UnreadableImage(ValueError):
    """An image file PIL cannot decode: one line naming the file (a bad input, exit 2).

    A loader worker's exception reaches the main process re-raised with the worker's
    traceback as its text (``Caught UnreadableImage in DataLoader worker process 0 ...``);
    the message keeps only the last line's own text, so it stays one line either way.
    """

    def __init__(self, message: str) -> None:
        last = message.strip().splitlines()[-1] if message.strip() else message
        head, sep, tail = last.partition(f"{type(self).__name__}: ")
        super().__init__(tail if sep and " " not in head.strip() else last)


class TensorImages(Dataset[tuple[torch.Tensor, torch.Tensor]]):
    """Images held in memory (``N x C x H x W``); indexing by a batch of indices is one
    gather, so loaders take whole index batches (no per-image work, no collate)."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor) -> None:
        self.images, self.labels = images, labels

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def __getitem__(self, index: Any) -> tuple[torch.Tensor, torch.Tensor]:
        return self.images[index], self.labels[index]

    def subset(self, index: np.ndarray) -> TensorImages:
        idx = torch.as_tensor(index, dtype=torch.long)
        return TensorImages(self.images[idx], self.labels[idx])


class FolderImages(Dataset[tuple[torch.Tensor, torch.Tensor]]):
    """Image files decoded one by one (in loader workers), resized so the short side is
    ``load_size`` and centre-cropped to ``load_size`` square, as uint8 ``C x S x S``."""

    def __init__(self, files: Sequence[Path], labels: Sequence[int], load_size: int,
                 channels: int = 3) -> None:
        self.files, self.labels = list(files), torch.as_tensor(labels, dtype=torch.long)
        self.load_size, self.channels = load_size, channels

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: Any) -> tuple[torch.Tensor, torch.Tensor]:
        """One image (``C x S x S``) for an int, a stacked batch for a list of ints (a
        loader worker decodes a whole batch)."""
        if isinstance(index, int | np.integer):
            return self._decode(int(index)), self.labels[index]
        return torch.stack([self._decode(int(i)) for i in index]), self.labels[list(index)]

    def _decode(self, index: int) -> torch.Tensor:
        path = self.files[index]
        try:
            with Image.open(path) as pil:
                img = F.pil_to_tensor(pil.convert("RGB" if self.channels == 3 else "L"))
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as err:
            text = str(err).replace(repr(str(path)), "").replace(str(path), "")
            reason = " ".join(text.split()) or type(err).__name__
            raise UnreadableImage(f"cannot read image {str(path)!r} ({reason}): replace or "
                                  "delete the file") from None
        return F.center_crop(F.resize(img, self.load_size, antialias=True), [self.load_size])

    def subset(self, index: np.ndarray) -> FolderImages:
        return FolderImages([self.files[i] for i in index], self.labels[index].tolist(),
                            self.load_size, self.channels)

    @classmethod
    def scan(cls, root: Path, load_size: int, channels: int = 3) -> FolderImages:
        """Class sub-folders (sorted names -> labels 0..C-1), else a flat unlabelled folder.

        Raises:
            ValueError: if ``root`` is missing, empty, or holds no images (three messages).
        """
        if not root.is_dir():
            raise ValueError(f"image folder {str(root)!r} does not exist")
        if next(root.iterdir(), None) is None:
            raise ValueError(f"image folder {str(root)!r} is empty: expected class folders "
                             "of images, or images")
        classes = sorted(p for p in root.iterdir() if p.is_dir())
        files: list[Path] = []
        labels: list[int] = []
        for label, folder in enumerate(classes) if classes else [(-1, root)]:
            found = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
            files += found
            labels += [label] * len(found)
        if not files and classes:
            raise ValueError(f"image folder {str(root)!r} has {len(classes)} class folders but "
                             f"no images in them ({', '.join(IMAGE_SUFFIXES)})")
        if not files:
            raise ValueError(f"no images ({', '.join(IMAGE_SUFFIXES)}) under {str(root)!r}")
        return cls(files, labels, load_size, channels)


ImageSet = TensorImages | FolderImages
