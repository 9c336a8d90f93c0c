"""Cosine k-nearest-neighbour classifier on frozen features (torch, chunked)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from sweeper.runtime import threads_for

__all__ = ["knn_accuracies"]


# similarity block bound: chunk x N floats stay under 1 GiB (ImageNet: 200 queries at once)
MAX_BLOCK_VALUES = 1 << 28


def knn_accuracies(train_x: np.ndarray, train_y: np.ndarray, query_x: np.ndarray,
                   query_y: np.ndarray, ks: Sequence[int], chunk: int = 2048,
                   device: str | torch.device | None = None) -> dict[int, float]:
    """Accuracy of a cosine kNN classifier on the query rows, for every k in ``ks`` at once.

    Rows are L2-normalized; each query takes its ``k`` most cosine-similar train rows, and the
    class with the largest sum of similarities among them wins (a similarity-weighted
    majority vote, as in Wu et al., 2018 without the temperature). The neighbours are found
    once for ``max(ks)`` and their first k reused for every k.

    Args:
        train_x, train_y: the labelled reference rows (N x K, N labels).
        query_x, query_y: the rows to classify and their true labels.
        ks: the neighbour counts to evaluate (each >= 1; a k above N uses all N rows).
        chunk: queries per similarity block (memory: chunk x N floats), lowered so that a
            block holds at most ``MAX_BLOCK_VALUES`` values.
        device: torch device (``None``: CUDA when available, else CPU).

    Returns:
        ``{k: accuracy}`` with accuracies in [0, 1].
    """
    if not ks or min(ks) < 1:
        raise ValueError(f"knn ks must be a non-empty list of integers >= 1, got {list(ks)}")
    dev = torch.device(device if device is not None
                       else ("cuda" if torch.cuda.is_available() else "cpu"))
    classes, targets = np.unique(train_y, return_inverse=True)
    ref = F.normalize(torch.as_tensor(np.asarray(train_x, np.float32), device=dev), dim=1)
    ref_y = torch.as_tensor(targets, device=dev)
    k_max = min(max(ks), ref.shape[0])
    chunk = max(1, min(chunk, MAX_BLOCK_VALUES // ref.shape[0]))
    correct = dict.fromkeys(ks, 0)
    with threads_for(ref.numel(), dev):
        for start in range(0, query_x.shape[0], chunk):
            q = F.normalize(torch.as_tensor(np.asarray(query_x[start:start + chunk], np.float32),
                                            device=dev), dim=1)
            sims, idx = (q @ ref.T).topk(k_max, dim=1)
            neighbour_y = ref_y[idx]
            truth = np.asarray(query_y[start:start + chunk])
            for k in ks:
                kk = min(k, k_max)
                votes = torch.zeros(q.shape[0], len(classes), device=dev, dtype=sims.dtype)
                votes.scatter_add_(1, neighbour_y[:, :kk], sims[:, :kk])
                pred = classes[votes.argmax(1).cpu().numpy()]
                correct[k] += int(np.sum(pred == truth))
    return {k: correct[k] / query_x.shape[0] for k in ks}
