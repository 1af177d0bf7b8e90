"""K candidate models in one propagation: one sparse product over an [N, K*d] table against K over [N, d].

Issue #22 suggests training the source-weight candidates side by side: LightGCN's propagation
is linear and the adjacency is shared, so the K candidates' embedding tables can be
concatenated and propagated by one sparse x dense product. That pays only if the product's
time grows slower than its width. This measures it on the CPU: a random CSR block with the
shape and density of the ``users x items`` block of the 1M and 10M synthetic graphs of
``bench_speed.py`` (50,000 x 25,000 with 462,500 nonzeros; 500,000 x 250,000 with 4,625,000),
times a dense table of d = 64 columns and of K x 64 for K = 2 and 5 (the five weights of
``source_weights``), one torch thread, median of 9 after a warm-up, the widths timed in turn.

    OMP_NUM_THREADS=1 python benchmarks/bench_wide_spmm.py     # writes results/wide_spmm.{json,md}
"""
from __future__ import annotations

import json
import os
import platform
import statistics
import time
from pathlib import Path

import torch

from cdgraph.io.atomic import atomic_write_text

HERE = Path(__file__).resolve().parent
BLOCKS = {"1m": (50_000, 25_000, 462_500), "10m": (500_000, 250_000, 4_625_000)}
DIM, WIDTHS = 64, (1, 2, 5)


def interleaved_medians(fns: dict, repeats: int = 9) -> dict:
    """Median seconds of each function, timed in turn within every repeat (after one warm-up each),
    so that a change in the machine's load falls on all of them alike."""
    times: dict = {key: [] for key in fns}
    for fn in fns.values():
        fn()
    for _ in range(repeats):
        for key, fn in fns.items():
            started = time.perf_counter()
            fn()
            times[key].append(time.perf_counter() - started)
    return {key: statistics.median(values) for key, values in times.items()}


def block(rows: int, cols: int, nnz: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(0)
    index = torch.stack([torch.randint(0, rows, (nnz,), generator=gen), torch.randint(0, cols, (nnz,), generator=gen)])
    return torch.sparse_coo_tensor(index, torch.rand(nnz, generator=gen), (rows, cols)).coalesce().to_sparse_csr()


def main() -> None:
    torch.set_num_threads(1)
    rows_out = []
    for name, (rows, cols, nnz) in BLOCKS.items():
        adjacency = block(rows, cols, nnz)
        tables = {k: torch.randn(cols, k * DIM) for k in WIDTHS}
        seconds = interleaved_medians({k: (lambda t=t: torch.sparse.mm(adjacency, t)) for k, t in tables.items()})
        for k in WIDTHS:
            rows_out.append({"block": name, "rows": rows, "cols": cols, "nnz": nnz, "candidates": k,
                             "columns": k * DIM, "seconds": round(seconds[k], 4),
                             "vs_one": round(seconds[k] / seconds[1], 2),
                             "vs_k_separate": round(seconds[k] / (k * seconds[1]), 2)})
            print(json.dumps(rows_out[-1]), flush=True)
    meta = {"torch": torch.__version__, "python": platform.python_version(), "cpus": os.cpu_count(),
            "threads": 1, "loadavg": [round(v, 2) for v in os.getloadavg()]}
    lines = ["# K candidates in one propagation: one sparse product over [N, K x 64] against K over [N, 64]", "",
             f"Made by `python benchmarks/bench_wide_spmm.py`; torch {meta['torch']}, one thread, load average "
             f"{meta['loadavg']} at the end (2 cores). Random CSR blocks shaped as the users x items block of "
             "the 1M and 10M synthetic graphs; median of 9 products after a warm-up, the widths timed in turn "
             "within each repeat.", "",
             "| block | nonzeros | candidates K | columns | seconds | vs one candidate | vs K separate products |",
             "|---|---|---|---|---|---|---|"]
    lines += [f"| {r['block']} | {r['nnz']:,} | {r['candidates']} | {r['columns']} | {r['seconds']} | "
              f"{r['vs_one']}x | {r['vs_k_separate']}x |" for r in rows_out]
    lines += ["", "Below 1x in the last column, the wide product saves time over K separate ones; at or above "
              "1x, propagating the candidates together saves nothing on this CPU."]
    out = HERE / "results"
    atomic_write_text(out / "wide_spmm.json", json.dumps({"meta": meta, "results": rows_out}, indent=2))
    atomic_write_text(out / "wide_spmm.md", "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
