"""RankMe's spectral core against torch.linalg.svdvals, in one process, on the same matrices.

Prints a table and, as its last line, one JSON object. Ratios compare runs in this process
only; absolute seconds depend on the machine. Usage:

    python benchmarks/bench_metrics.py                  # the issue's sizes
    python benchmarks/bench_metrics.py --stream-rows 0  # without the 1,000,000-row case
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from sweeper.metrics import rankme
from sweeper.metrics.spectral import effective_rank_of_spectrum


def low_rank_plus_noise(
    n: int, k: int, rank: int = 64, noise: float = 0.05, seed: int = 0, device: str = "cpu"
) -> torch.Tensor:
    g = torch.Generator(device=device).manual_seed(seed)
    left = torch.randn(n, rank, generator=g, device=device)
    right = torch.randn(rank, k, generator=g, device=device) / math.sqrt(rank)
    return (left @ right + noise * torch.randn(n, k, generator=g, device=device)).float()


def timed(fn: Callable[[], float], repeats: int) -> tuple[float, float]:
    """Median seconds over ``repeats`` runs after one warm-up, and the last result."""
    result = fn()
    times = []
    for _ in range(repeats):
        sync()
        start = time.perf_counter()
        result = fn()
        sync()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def rankme_svdvals(z: torch.Tensor, dtype: torch.dtype) -> float:
    return effective_rank_of_spectrum(torch.linalg.svdvals(z.to(dtype)).double())


def rankme_float32_gram(z: torch.Tensor) -> float:
    eig = torch.linalg.eigvalsh(z.T @ z).flip(0)[: min(z.shape)]
    return effective_rank_of_spectrum(eig.double().clamp_min(0).sqrt())


def compare_on(z: torch.Tensor, repeats: int) -> dict[str, float]:
    t64, ref64 = timed(lambda: rankme_svdvals(z, torch.float64), repeats)
    t32, r32 = timed(lambda: rankme_svdvals(z, torch.float32), repeats)
    tours, ours = timed(lambda: rankme(z), repeats)
    _, rgram32 = timed(lambda: rankme_float32_gram(z), 1)
    row = {
        "rows": z.shape[0],
        "dim": z.shape[1],
        "device": z.device.type,
        "rankme_float64_svd": ref64,
        "s_ours": tours,
        "s_svdvals_f64": t64,
        "s_svdvals_f32": t32,
        "speedup_vs_svdvals_f64": t64 / tours,
        "speedup_vs_svdvals_f32": t32 / tours,
        "relerr_ours": abs(ours / ref64 - 1),
        "relerr_svdvals_f32": abs(r32 / ref64 - 1),
        "relerr_gram_f32": abs(rgram32 / ref64 - 1),
    }
    if z.is_cuda:
        tgram, _ = timed(lambda: float((z.double().T @ z.double()).trace()), repeats)
        row["s_gram_f64_matmul"] = tgram
        row["ours_over_gram_f64_matmul"] = tours / tgram
    return row


STREAM_CHILD = """
import json, sys, time
from sweeper.metrics.embedding_files import accumulate_files, open_embeddings
from sweeper.metrics.measures import spectral_metrics

def status_mib(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1]) / 1024

after_imports = status_mib("VmRSS:")
open("/proc/self/clear_refs", "w").write("5")  # reset the peak (VmHWM) to the current RSS
start = time.perf_counter()
acc = accumulate_files(open_embeddings(sys.argv[1]))
m = spectral_metrics(acc)
print(json.dumps({"seconds": time.perf_counter() - start, "rankme": m["rankme"],
                  "rss_after_imports_mib": after_imports,
                  "peak_rss_mib": status_mib("VmHWM:")}))
"""


def streamed_case(rows: int, dim: int, folder: Path) -> dict[str, float]:
    """Write a rows x dim float32 .npy in chunks, then score it in a fresh process."""
    path = folder / "stream.npy"
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(rows, dim))
    chunk = 65_536
    for i, start in enumerate(range(0, rows, chunk)):
        stop = min(start + chunk, rows)
        out[start:stop] = low_rank_plus_noise(stop - start, dim, seed=i).numpy()
    out.flush()
    del out
    done = subprocess.run(
        [sys.executable, "-c", STREAM_CHILD, str(path)], capture_output=True, text=True, check=True
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result.update(
        rows=rows,
        dim=dim,
        file_gib=path.stat().st_size / 2**30,
        rows_per_s=rows / result["seconds"],
        peak_over_imports_mib=result["peak_rss_mib"] - result["rss_after_imports_mib"],
    )
    path.unlink()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=25_600)
    parser.add_argument("--dims", type=int, nargs="+", default=[2048, 512])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--stream-rows", type=int, default=1_000_000)
    parser.add_argument("--stream-dim", type=int, default=2048)
    parser.add_argument("--devices", nargs="+", choices=["cpu", "cuda"], default=None,
                        help="default: cpu, and cuda when there is one")
    args = parser.parse_args()

    results: dict[str, object] = {
        "machine": f"{platform.machine()}, {torch.get_num_threads()} threads",
        "torch": torch.__version__,
        "cuda": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
        "matrices": [],
    }
    devices = args.devices or ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    for device in devices:
        for dim in args.dims:
            z = low_rank_plus_noise(args.rows, dim, device=device)
            row = compare_on(z, args.repeats)
            results["matrices"].append(row)  # type: ignore[union-attr]
            print(
                f"{device} {args.rows}x{dim}: ours {row['s_ours']:.3f}s, svdvals f64 "
                f"{row['s_svdvals_f64']:.3f}s ({row['speedup_vs_svdvals_f64']:.2f}x), f32 "
                f"{row['s_svdvals_f32']:.3f}s ({row['speedup_vs_svdvals_f32']:.2f}x); rel. err "
                f"ours {row['relerr_ours']:.1e}, svdvals f32 {row['relerr_svdvals_f32']:.1e}, "
                f"gram f32 {row['relerr_gram_f32']:.1e}",
                file=sys.stderr,
            )
    if args.stream_rows:
        with tempfile.TemporaryDirectory(dir=".") as folder:
            stream = streamed_case(args.stream_rows, args.stream_dim, Path(folder))
        results["streamed"] = stream
        print(
            f"streamed {stream['rows']:,}x{stream['dim']} ({stream['file_gib']:.1f} GiB .npy): "
            f"{stream['seconds']:.1f}s, peak RSS {stream['peak_rss_mib']:.0f} MiB "
            f"({stream['peak_over_imports_mib']:.0f} MiB above the imports)",
            file=sys.stderr,
        )
    results["peak_rss_mib_this_process"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(results))


if __name__ == "__main__":
    main()
