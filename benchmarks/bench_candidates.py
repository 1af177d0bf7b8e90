"""Scoring each user's own candidates (sampled evaluation: 1 held-out item + 999 negatives), three
ways side by side in one run: the whole-catalogue product then a gather, gathered item rows
(``bmm``), and a sampled dense product (SDDMM, :func:`torch.sparse.sampled_addmm`), which
:func:`cdgraph.nn.scorers.dot_candidates` uses on the CPU.

    OMP_NUM_THREADS=1 python benchmarks/bench_candidates.py [--threads 1 2]

Synthetic factors (dim 64, 1,024 users per chunk as in evaluation, candidates drawn uniformly);
median seconds of 5 calls after one warm-up. Writes ``results/candidates.json`` and
``results/candidates.md``.
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch

from cdgraph.io.atomic import atomic_write_text
from cdgraph.nn.scorers import sampled_dot

OUT = Path(__file__).resolve().parent / "results"
CATALOGUES = (5_000, 20_000, 40_000, 64_000, 200_000)
WAYS = {
    "catalogue product + gather": lambda u, i, c: (u @ i.t()).gather(1, c),
    "gathered rows (bmm)": lambda u, i, c: torch.bmm(i[c], u.unsqueeze(2)).squeeze(2),
    "SDDMM (sampled_addmm)": sampled_dot,
}


def seconds(fn, *args, repeat: int = 5) -> float:
    fn(*args)
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1])
    parser.add_argument("--users", type=int, default=1024)
    parser.add_argument("--candidates", type=int, default=1000)
    args = parser.parse_args()
    gen = torch.Generator().manual_seed(0)
    rows = []
    for threads in args.threads:
        torch.set_num_threads(threads)
        for size in CATALOGUES:
            users, items = torch.randn(args.users, 64, generator=gen), torch.randn(size, 64, generator=gen)
            candidates = torch.randint(0, size, (args.users, args.candidates), generator=gen)
            reference = WAYS["catalogue product + gather"](users, items, candidates)
            torch.testing.assert_close(sampled_dot(users, items, candidates), reference, rtol=1e-4, atol=1e-4)
            row = {"threads": threads, "items": size}
            row.update({way: seconds(fn, users, items, candidates) for way, fn in WAYS.items()})
            rows.append(row)
            print(json.dumps(row), flush=True)
    lines = ["# Scoring each user's candidates", "",
             f"Written by `benchmarks/bench_candidates.py` (see its docstring): {args.users} users, "
             f"{args.candidates} candidates each, dim 64; median seconds of 5 calls, and each way's time "
             "divided by SDDMM's.", "",
             "| threads | items | " + " | ".join(WAYS) + " | product ÷ SDDMM | bmm ÷ SDDMM |",
             "|---" * (4 + len(WAYS)) + "|"]
    for r in rows:
        sddmm = r["SDDMM (sampled_addmm)"]
        product, gathered = r["catalogue product + gather"] / sddmm, r["gathered rows (bmm)"] / sddmm
        lines.append(f"| {r['threads']} | {r['items']:,} | " + " | ".join(f"{r[w]:.4f}" for w in WAYS)
                     + f" | {product:.1f} | {gathered:.1f} |")
    atomic_write_text(OUT / "candidates.json", json.dumps(rows, indent=1) + "\n")
    atomic_write_text(OUT / "candidates.md", "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
