"""``rankme-sweeper score``: label-free metrics of embeddings stored on disk."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence

from sweeper.metrics.embedding_files import SUPPORTED_SUFFIXES, accumulate_files, open_embeddings
from sweeper.metrics.measures import finite_or_none, spectral_metrics

__all__ = ["score_main", "score_path"]


def score_path(path: str, show_progress: bool = False) -> dict[str, object]:
    """All spectral metrics of the embeddings at ``path`` (a file or a folder of shards).

    Raises:
        ValueError: for anything unreadable, before any row is read where possible.
    """
    shards = open_embeddings(path)
    total = sum(s.n for s in shards)
    started = time.perf_counter()
    bar = None
    if show_progress:
        from tqdm import tqdm

        bar = tqdm(total=total, unit="rows", desc="scoring", file=sys.stderr, leave=False)
    try:
        acc = accumulate_files(shards, progress=bar.update if bar else None)
    finally:
        if bar is not None:
            bar.close()
    metrics: dict[str, object] = dict(spectral_metrics(acc))
    metrics["alpha_req"] = finite_or_none(float(metrics["alpha_req"]))  # type: ignore[arg-type]
    metrics.update(
        path=str(path),
        shards=len(shards),
        dtype=sorted({s.dtype for s in shards}),
        seconds=round(time.perf_counter() - started, 3),
    )
    return metrics


def score_main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="rankme-sweeper score",
        description="Label-free metrics (RankMe, alpha-ReQ, NESum, stable rank, threshold "
        f"rank) of an N x K embedding matrix: a {', '.join(SUPPORTED_SUFFIXES)} file or a "
        "folder of such shards.",
    )
    parser.add_argument("path", help="embedding file or folder of shards")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    try:
        result = score_path(args.path, show_progress=sys.stderr.isatty())
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"{result['path']}: N = {result['n']:,} x K = {result['dim']:,} "
          f"({', '.join(result['dtype'])}, {result['shards']} shard(s), {result['seconds']} s)")  # type: ignore[arg-type]
    for key in ("rankme", "alpha_req", "nesum", "stable_rank", "threshold_rank"):
        value = result[key]
        shown = "inf (collapsed)" if value is None else (
            f"{value:,}" if isinstance(value, int) else f"{value:.4f}"
        )
        print(f"  {key:<15} {shown}")
    return 0
