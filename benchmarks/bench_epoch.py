"""One training epoch and one full evaluation on Amazon Sport & Cloth, next to RecBole-CDR's figure.

The setting of the RecBole-CDR measurement quoted in the performance issue: BiTGCF on Amazon
Sport & Cloth (about 200k interactions), the target domain split 8:1:1 at random, CPU, about
62 s per training epoch plus 10 s of evaluation on this machine. RecBole-CDR cannot be run
side by side here: its only PyPI release (0.1.0) ships no model modules (``recbole_cdr/model/``
holds only ``crossdomain_recommender.py``; checked with ``pip download recbole-cdr --no-deps``),
pins scipy 1.6.0, and its source is not reachable from this machine. So its figure is quoted,
not measured in this run; the ratios below divide it by cdgraph's times measured here.

Each model runs in a fresh process with one torch thread: ``cdgraph`` (the default model:
LightGCN, 4 layers, on the joint graph) and ``bitgcf`` (cdgraph's BiTGCF, 3 layers, attention
fusion), 3 epochs each (median epoch time), then full-ranking evaluation of all test users.

    python benchmarks/bench_epoch.py     # writes results/epoch.{json,md}
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time

from cdgraph.io.atomic import atomic_write_text

HERE = os.path.dirname(os.path.abspath(__file__))
RECBOLE_EPOCH_S, RECBOLE_EVAL_S = 62.0, 10.0
METHODS = ["cdgraph", "bitgcf"]


def one(method: str, root: str | None) -> dict:
    import torch
    torch.set_num_threads(1)
    import cdgraph
    from cdgraph import datasets
    from cdgraph.models import make_model

    data = datasets.load("amazon-sport-cloth", root=root, download=False)
    split = cdgraph.data.split.ratio(data, "cloth", train=0.8, valid=0.1, seed=0)
    model = make_model(method, "cloth", source_weight=1.0)
    model.fit(split, epochs=3, batch_size=8192, lr=0.01, seed=0, patience=None, progress=False,
              valid_protocol="full")
    train_s = statistics.median(model.history_["train_seconds"])
    started = time.perf_counter()
    model.evaluate(split, protocol="full", k=(10, 20))
    eval_s = time.perf_counter() - started
    interactions = int(sum(len(f) for f in split.train.values()))
    return {"method": method, "train_interactions": interactions, "epoch_seconds": round(train_s, 2),
            "eval_seconds": round(eval_s, 2), "test_users": int(split.test["user"].nunique())}


def main() -> None:
    root = os.environ.get("CDGRAPH_DATA")
    if len(sys.argv) > 1 and sys.argv[1] == "--one":
        print(json.dumps(one(sys.argv[2], root)))
        return
    env = dict(os.environ, OMP_NUM_THREADS="1")
    rows = []
    load = os.getloadavg()
    for method in METHODS:
        proc = subprocess.run([sys.executable, __file__, "--one", method], capture_output=True, text=True,
                              env=env, check=True)
        rows.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        print(rows[-1], flush=True)
    lines = ["# One epoch on Amazon Sport & Cloth against RecBole-CDR's BiTGCF", "",
             f"cdgraph measured here with one torch thread per process (load average at start "
             f"{[round(x, 2) for x in load]}); target cloth split 8:1:1 at random "
             f"(`cdgraph.data.split.ratio`), batch 8192, every train interaction of the target once per "
             f"epoch plus as many source ones. RecBole-CDR BiTGCF: {RECBOLE_EPOCH_S:.0f} s per epoch + "
             f"{RECBOLE_EVAL_S:.0f} s evaluation, quoted from the performance issue (not runnable here: "
             f"see the docstring of `benchmarks/bench_epoch.py`). Made by `python benchmarks/bench_epoch.py`.",
             "", "| cdgraph model | train interactions | epoch s | full evaluation s | RecBole-CDR BiTGCF epoch / ours "
             "| evaluation ratio |", "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['method']} | {r['train_interactions']:,} | {r['epoch_seconds']} | {r['eval_seconds']} "
                     f"| {RECBOLE_EPOCH_S / r['epoch_seconds']:.0f}x | {RECBOLE_EVAL_S / r['eval_seconds']:.1f}x |")
    md = "\n".join(lines) + "\n"
    out = os.path.join(HERE, "results", "epoch")
    atomic_write_text(out + ".md", md)
    atomic_write_text(out + ".json", json.dumps(rows, indent=1))
    print(md)


if __name__ == "__main__":
    main()
