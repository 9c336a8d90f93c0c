"""Image folders decoded once into a uint8 array on disk, shared by every run.

Decoding a JPEG costs more than a small network's training step on it: on 2 cores a
CIFAR-10 epoch spent most of its time in PIL. A folder whose decoded images fit
``data.cache.max_gb`` is therefore decoded once, by the first run that reads it, into
``<cache dir>/images/<key>.npz`` (``images``: N x C x S x S uint8, ``labels``: N int64);
later runs, other trials and ``compare`` load that file in a fraction of a second. The key
hashes the load size, the channel count and every file's path, size and modification time,
so an edited folder is decoded again. Writers hold a lock and rename a finished file into
place: two trials starting together decode once, and a killed decode leaves no half file; the
lock file goes when the decode ends. Decoding draws nothing from the global random streams
(its loader has a generator of its own), so a run that builds the cache trains exactly as one
that reads it.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader

from sweeper.ssl.data.images import FolderImages, ImageSet, TensorImages

__all__ = ["cache_dir", "cached_images", "folder_key"]

log = logging.getLogger(__name__)


def cache_dir(configured: Any = None) -> Path:
    """``data.cache.dir``, else ``$RANKME_SWEEPER_CACHE``, else ``~/.cache/rankme-sweeper``."""
    if configured:
        return Path(str(configured)).expanduser()
    env = os.environ.get("RANKME_SWEEPER_CACHE")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "rankme-sweeper"


def folder_key(ds: FolderImages) -> str:
    """A hash of what the decoded array depends on: files (path, size, mtime), load size,
    channels, labels."""
    h = hashlib.sha256(f"{ds.load_size}:{ds.channels}:{len(ds.files)}".encode())
    for path, label in zip(ds.files, ds.labels.tolist(), strict=True):
        st = path.stat()
        h.update(f"{path.resolve()}\0{st.st_size}\0{st.st_mtime_ns}\0{label}\n".encode())
    return h.hexdigest()[:24]


def _decode(ds: FolderImages, workers: int) -> tuple[np.ndarray, np.ndarray]:
    n, s = len(ds), ds.load_size
    images = np.empty((n, ds.channels, s, s), dtype=np.uint8)
    # its own generator: a loader draws its workers' base seed from torch's global generator
    # otherwise, and the run that decodes would then initialise its network differently
    loader = DataLoader(ds, batch_size=512, num_workers=workers, shuffle=False,
                        generator=torch.Generator().manual_seed(0))
    done, started, shown = 0, time.perf_counter(), 0.0
    for batch, _ in loader:
        images[done:done + batch.shape[0]] = batch.numpy()
        done += batch.shape[0]
        if time.perf_counter() - shown > 10 or done == n:
            shown = time.perf_counter()
            log.info("decoding %s: %d/%d images (%.0f s)", ds.files[0].parent.parent, done, n,
                     shown - started)
    return images, ds.labels.numpy().astype(np.int64)


@contextmanager
def _locked(lock_path: Path) -> Iterator[None]:
    """Holds an exclusive lock on ``lock_path`` and deletes that file before releasing it.
    A waiter that then gets the lock of the deleted file sees that the path no longer names
    it and locks the path afresh, so no two holders overlap and no lock file stays behind."""
    while True:
        lock = open(lock_path, "a")  # closed below, after the unlink
        fcntl.flock(lock, fcntl.LOCK_EX)  # another run may be decoding the same folder
        try:
            current = os.stat(lock_path).st_ino == os.fstat(lock.fileno()).st_ino
        except FileNotFoundError:
            current = False
        if current:
            break
        lock.close()
    try:
        yield
    finally:
        lock_path.unlink(missing_ok=True)
        lock.close()


def cached_images(ds: FolderImages, cache: Any) -> ImageSet:
    """``ds`` as in-memory :class:`~sweeper.ssl.data.images.TensorImages` from the cache,
    decoding and storing it first when it is not there; ``ds`` itself when ``cache`` is off
    or the decoded images would exceed ``cache.max_gb``.

    Args:
        ds: the scanned folder.
        cache: the ``data.cache`` block (``enabled``, ``dir``, ``max_gb``; defaults in
            conf/train.yaml), or None (off).
    """
    if cache is None or not cache.enabled:
        return ds
    nbytes = len(ds) * ds.channels * ds.load_size ** 2
    if nbytes > float(cache.max_gb) * 2**30:
        log.info("not caching %d images: %.1f GB decoded exceeds data.cache.max_gb=%s",
                 len(ds), nbytes / 2**30, cache.max_gb)
        return ds
    folder = cache_dir(cache.dir) / "images"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{folder_key(ds)}.npz"
    if not path.is_file():
        with _locked(folder / f"{path.stem}.lock"):
            if not path.is_file():
                images, labels = _decode(ds, min(4, os.cpu_count() or 1))
                tmp = path.with_suffix(".tmp.npz")
                np.savez(tmp, images=images, labels=labels)
                tmp.replace(path)
                log.info("decoded %d images into %s (%.0f MB)", len(ds), path, nbytes / 2**20)
    with np.load(path) as f:
        images, labels = f["images"], f["labels"]
    if images.shape != (len(ds), ds.channels, ds.load_size, ds.load_size):
        raise ValueError(f"image cache {path} holds {images.shape}, not {len(ds)} images of "
                         f"{ds.channels} x {ds.load_size} px: delete it and run again")
    return TensorImages(torch.from_numpy(images), torch.from_numpy(labels))
