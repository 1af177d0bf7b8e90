"""Training with glibc's default allocator settings against ``keep_freed_memory``.

Each cell (task, method, a few epochs, seed 0) runs through ``cdgraph benchmark`` twice, one
run after the other in one go, each in a fresh process: once with ``CDGRAPH_KEEP_FREED_MEMORY=0``
(glibc's defaults: freed large blocks go back to the kernel) and once as the command runs by
default (:func:`cdgraph.train.allocator.keep_freed_memory`: freed memory is kept for reuse). Reports
the fit seconds and their ratio, the kernel (system) CPU seconds, the peak resident memory, and
the largest difference of any metric between the two runs.

    CDGRAPH_DATA=../shared/data python benchmarks/bench_allocator.py   # writes results/allocator.{json,md}
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

import pandas as pd

from cdgraph.train.allocator import ENV
from cdgraph.io.atomic import atomic_write_text
from cdgraph.cli.report import markdown_table

HERE = os.path.dirname(os.path.abspath(__file__))
CELLS = ["sport-cloth-cold:graph-contrastive", "sport-cloth-cold:cdgraph", "sport-cloth:ppgn",
         "sport-cloth-cold:lightgcn-joint", "sport-cloth-cold:ptupcdr-lightgcn", "sport-cloth-cold:bitgcf"]
METRICS = ["MRR", "NDCG@10", "HR@10", "Recall@20", "NDCG@20"]


def run(task: str, method: str, epochs: int, out: str, keep: bool) -> dict:
    """One ``cdgraph benchmark`` run in a fresh process; its row plus the process's kernel CPU
    seconds and peak memory."""
    command = [sys.executable, "-m", "cdgraph", "benchmark", "--config", os.path.join(HERE, "grid.toml"),
               "--tasks", task, "--methods", method, "--seeds", "0", "--epochs", str(epochs), "--out", out]
    env = {**os.environ, ENV: "1" if keep else "0"}
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)  # this child's own CPU times and peak memory
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise subprocess.CalledProcessError(proc.returncode, command)
    row = pd.read_csv(os.path.join(out, "results.csv")).iloc[0].to_dict()
    return {**row, "sys_s": usage.ru_stime, "maxrss_mib": usage.ru_maxrss / 1024}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cells", nargs="+", default=CELLS, help="TASK:METHOD pairs")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--out", default=os.path.join(HERE, "results", "allocator"), help="writes OUT.json and OUT.md")
    args = p.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for cell in args.cells:
            task, method = cell.split(":")
            pair = {}
            for keep in (False, True):
                pair[keep] = run(task, method, args.epochs, os.path.join(tmp, f"{cell}-{keep}"), keep)
                print(f"{cell} keep={keep}: fit {pair[keep]['seconds']} s, sys {pair[keep]['sys_s']:.1f} s",
                      flush=True)
            off, on = pair[False], pair[True]
            diff = max(abs(float(off[m]) - float(on[m])) for m in METRICS if m in off and pd.notna(off[m]))
            rows.append({"task": task, "method": method, "fit_s_default": off["seconds"], "fit_s_kept": on["seconds"],
                         "fit_ratio": round(on["seconds"] / off["seconds"], 3) if off["seconds"] else float("nan"),
                         "sys_s_default": round(off["sys_s"], 1), "sys_s_kept": round(on["sys_s"], 1),
                         "peak_mib_default": round(off["maxrss_mib"]), "peak_mib_kept": round(on["maxrss_mib"]),
                         "max_metric_diff": diff})
    frame = pd.DataFrame(rows)
    total = round(float(frame["fit_s_kept"].sum() / frame["fit_s_default"].sum()), 3)
    result = {"epochs": args.epochs, "cells": rows, "fit_ratio_total": total,
              "max_metric_diff": float(frame["max_metric_diff"].max())}
    md = (f"# Training with glibc's default allocator settings against `keep_freed_memory`\n\n"
          f"Made by `benchmarks/bench_allocator.py`: each cell runs `cdgraph benchmark` ({args.epochs} epochs, "
          f"seed 0, the grid's fit options) in a fresh process, first with `{ENV}=0`, then with the "
          f"default (freed memory kept for reuse). fit ratio = kept / default; below 1 is faster.\n\n"
          + markdown_table(frame.assign(max_metric_diff=frame["max_metric_diff"].map("{:.1e}".format)),
                           index=False, digits=3)
          + f"\n\nSummed fit seconds, kept / default: **{total}**. Largest difference of any metric: "
          f"{result['max_metric_diff']:.1e}.\n")
    atomic_write_text(args.out + ".json", json.dumps(result, indent=1) + "\n")
    atomic_write_text(args.out + ".md", md)
    print(md)


if __name__ == "__main__":
    main()
