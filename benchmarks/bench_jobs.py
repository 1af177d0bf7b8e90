"""``cdgraph benchmark`` one run at a time against ``--jobs N`` (N = this machine's cores).

The same part of the grid (default: Douban Book -> Music, eight methods, seeds 0 and 1) runs
twice in one go: once as the default command (one process, torch's default threads, i.e.
all cores) and once with ``--jobs N`` (N worker processes, one thread each). In both, seed 1
starts its longest runs first, by seed 0's fit seconds. Reports the wall
clock of each, their ratio, the summed fit seconds, and the largest metric difference
between the two (threads can change float rounding, nothing else).

    CDGRAPH_DATA=../shared/data python benchmarks/bench_jobs.py   # writes results/jobs.{json,md}
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import pandas as pd

from cdgraph.io.atomic import atomic_write_text

HERE = os.path.dirname(os.path.abspath(__file__))
METHODS = ["bprmf", "lightgcn-target", "gadtcdr", "ppgn", "emcdr", "lightgcn-joint", "bitgcf", "ptupcdr"]
METRICS = ["MRR", "NDCG@10", "HR@10", "Recall@20", "NDCG@20"]


def grid(out: str, args: argparse.Namespace, jobs: int) -> tuple[float, pd.DataFrame]:
    command = [sys.executable, "-m", "cdgraph", "benchmark", "--config", os.path.join(HERE, "grid.toml"),
               "--tasks", args.task, "--methods", *args.methods, "--seeds", *map(str, args.seeds),
               "--out", out, "--jobs", str(jobs)]
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    started = time.perf_counter()
    subprocess.run(command, check=True, env=env)
    return time.perf_counter() - started, pd.read_csv(os.path.join(out, "results.csv"))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--task", default="book-music")
    p.add_argument("--methods", nargs="+", default=METHODS)
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    p.add_argument("--jobs", type=int, default=len(os.sched_getaffinity(0)))
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        serial_s, serial = grid(os.path.join(tmp, "serial"), args, 1)
        jobs_s, parallel = grid(os.path.join(tmp, "jobs"), args, args.jobs)
    keys = ["task", "method", "seed"]
    both = serial.merge(parallel, on=keys, suffixes=("", "_jobs"))
    diff = max(float((both[m] - both[f"{m}_jobs"]).abs().max()) for m in METRICS if m in both)
    result = {"task": args.task, "methods": args.methods, "seeds": args.seeds, "jobs": args.jobs,
              "runs": len(both), "serial_wall_s": round(serial_s, 1), "jobs_wall_s": round(jobs_s, 1),
              "speedup": round(serial_s / jobs_s, 2), "serial_fit_s": round(float(serial["seconds"].sum()), 1),
              "jobs_fit_s": round(float(parallel["seconds"].sum()), 1), "max_metric_diff": diff}
    rows = both[keys + ["seconds", "seconds_jobs"]].rename(
        columns={"seconds": "fit s, one run at a time", "seconds_jobs": f"fit s, --jobs {args.jobs}"})
    md = (f"# `cdgraph benchmark`: one run at a time against `--jobs {args.jobs}`\n\n"
          f"Made by `benchmarks/bench_jobs.py` on {args.jobs} cores: {result['runs']} runs ({args.task}, "
          f"seeds {' '.join(map(str, args.seeds))}), first as one process with torch's default threads, "
          f"then with `--jobs {args.jobs}` (one thread per worker).\n\n"
          f"| | one at a time | --jobs {args.jobs} |\n|---|---|---|\n"
          f"| wall clock (s) | {result['serial_wall_s']} | {result['jobs_wall_s']} |\n"
          f"| summed fit seconds | {result['serial_fit_s']} | {result['jobs_fit_s']} |\n\n"
          f"Speedup of the wall clock: **{result['speedup']}x**. Largest difference of any metric "
          f"between the two: {diff:.1e}.\n\n"
          + "| " + " | ".join(rows.columns) + " |\n" + "|---" * len(rows.columns) + "|\n"
          + "".join("| " + " | ".join(str(v) for v in r) + " |\n" for r in rows.itertuples(index=False)))
    out = os.path.join(HERE, "results")
    atomic_write_text(os.path.join(out, "jobs.json"), json.dumps(result, indent=1) + "\n")
    atomic_write_text(os.path.join(out, "jobs.md"), md)
    print(md)


if __name__ == "__main__":
    main()
