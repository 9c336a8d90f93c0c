"""``rankme-sweeper score PATH [...]``: label-free metrics of embeddings stored on disk.

An embedding file or a folder of shards, or a checkpoint's frozen backbone features. Not a
Hydra app: argparse parses the line; Hydra overrides only name a checkpoint's data.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from sweeper.config import compose_config
from sweeper.metrics.embedding_files import (
    SUPPORTED_SUFFIXES,
    EmbeddingShard,
    accumulate_files,
    open_embeddings,
)
from sweeper.metrics.idest import IDEST_MAX_POINTS, idest
from sweeper.metrics.measures import finite_or_none, spectral_metrics
from sweeper.metrics.registry import SPECTRAL
from sweeper.ssl.features import extract_features
from sweeper.ssl.features import save_features as write

__all__ = ["main", "score_checkpoint", "score_path"]


def score_path(path: str, show_progress: bool = False, with_idest: bool = False
               ) -> dict[str, object]:
    """All spectral metrics of the embeddings at ``path`` (a file or a folder of shards),
    and IdEst of a seeded random 4,096 of its rows (all when fewer) with ``with_idest``.

    Raises:
        ValueError: for anything unreadable, before any row is read where possible.
    """
    shards = open_embeddings(path)
    total = sum(s.n for s in shards)
    started = time.perf_counter()
    bar = None
    if show_progress:
        bar = tqdm(total=total, unit="rows", desc="scoring", file=sys.stderr, leave=False)
    try:
        acc = accumulate_files(shards, progress=bar.update if bar else None)
    finally:
        if bar is not None:
            bar.close()
    metrics: dict[str, object] = dict(spectral_metrics(acc))
    metrics["alpha_req"] = finite_or_none(float(metrics["alpha_req"]))  # type: ignore[arg-type]
    if with_idest:
        metrics["idest"] = finite_or_none(idest(_sampled_rows(shards, IDEST_MAX_POINTS)))
    metrics.update(
        path=str(path),
        shards=len(shards),
        dtype=sorted({s.dtype for s in shards}),
        seconds=round(time.perf_counter() - started, 3),
    )
    return metrics


def _sampled_rows(shards: list[EmbeddingShard], k: int, seed: int = 0) -> torch.Tensor:
    """A seeded random ``k`` of the shards' rows (all when fewer), read batch by batch."""
    total = sum(s.n for s in shards)
    keep = np.sort(np.random.default_rng(seed).choice(total, size=min(k, total), replace=False))
    rows, start = [], 0
    for shard in shards:
        for batch in shard.batches():
            stop = start + int(batch.shape[0])
            lo, hi = np.searchsorted(keep, [start, stop])
            part = batch[keep[lo:hi] - start]
            rows.append(torch.as_tensor(np.asarray(part, dtype=np.float64))
                        if isinstance(part, np.ndarray) else part.to(torch.float64))
            start = stop
    return torch.cat(rows)


CHECKPOINT_SUFFIXES = (".ckpt", ".pth")


def score_checkpoint(path: str, overrides: Sequence[str] = (),
                     save_features: str | None = None, with_idest: bool = False
                     ) -> dict[str, object]:
    """Spectral metrics of a checkpoint's frozen backbone features on the train split
    (and their IdEst with ``with_idest``: a seeded 4,096 of them when there are more).

    The dataset comes from Hydra overrides (``data=<name>`` ...) composed over
    ``conf/train.yaml``; with ``save_features`` every split's features are written as
    ``DIR/<split>.npz`` (arrays ``features``, ``labels``).

    Raises:
        ValueError: for a bad config, an unreadable or code-carrying checkpoint, or data.
    """
    started = time.perf_counter()
    cfg = compose_config(list(overrides))
    splits = ("train", "val", "test") if save_features else ("train",)
    feats = extract_features(Path(path), cfg, splits=splits)
    metrics: dict[str, object] = dict(spectral_metrics(feats["train"][0]))
    metrics["alpha_req"] = finite_or_none(float(metrics["alpha_req"]))  # type: ignore[arg-type]
    if with_idest:
        metrics["idest"] = finite_or_none(idest(feats["train"][0]))
    metrics.update(path=str(path), checkpoint=True, split="train", dataset=str(cfg.data.dataset),
                   shards=1, dtype=["float32"])
    if save_features:
        metrics["features"] = [str(p) for p in write(feats, Path(save_features))]
    metrics["seconds"] = round(time.perf_counter() - started, 3)
    return metrics


def main(argv: Sequence[str]) -> int:
    """Prints the metrics (a table, or one JSON object); 2 for anything unreadable."""
    parser = argparse.ArgumentParser(
        prog="rankme-sweeper score",
        description="Label-free metrics (RankMe, alpha-ReQ, NESum, stable rank, threshold "
        f"rank; IdEst with --idest) of an N x K embedding matrix: a "
        f"{', '.join(SUPPORTED_SUFFIXES)} file or a "
        "folder of such shards; or of a training checkpoint's frozen backbone features "
        "(score CKPT data=<name> [--save-features DIR]).",
    )
    parser.add_argument("path", help="embedding file or folder of shards, or a checkpoint")
    parser.add_argument("overrides", nargs="*",
                        help="checkpoint only: Hydra overrides naming the data, e.g. data=digits")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--save-features", metavar="DIR",
                        help="checkpoint only: write DIR/<split>.npz (features, labels)")
    parser.add_argument("--idest", action="store_true",
                        help="also IdEst (intrinsic dimension, MST estimator) of a seeded "
                        f"{IDEST_MAX_POINTS:,} rows; O(rows^2), ~2 s on a 2-core CPU")
    args = parser.parse_args(argv)
    is_checkpoint = (args.path.endswith(CHECKPOINT_SUFFIXES) or bool(args.overrides)
                     or args.save_features is not None)
    try:
        if is_checkpoint:
            result = score_checkpoint(args.path, args.overrides, args.save_features,
                                      with_idest=args.idest)
        else:
            result = score_path(args.path, show_progress=sys.stderr.isatty(),
                                with_idest=args.idest)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result))
        return 0
    source = (f"train split of {result['dataset']}" if is_checkpoint
              else f"{', '.join(result['dtype'])}, {result['shards']} shard(s)")  # type: ignore[arg-type]
    print(f"{result['path']}: N = {result['n']:,} x K = {result['dim']:,} "
          f"({source}, {result['seconds']} s)")
    for key in (*SPECTRAL, *(("idest",) if args.idest else ())):
        value = result[key]
        shown = ("inf" if key == "idest" else "inf (collapsed)") if value is None else (
            f"{value:,}" if isinstance(value, int) else f"{value:.4f}"
        )
        print(f"  {key:<15} {shown}")
    for path in result.get("features", []):  # type: ignore[attr-defined]
        print(f"  wrote {path}")
    return 0
