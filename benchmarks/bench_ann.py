"""Approximate top-k (faiss HNSW) against exact top-k: recall and speed.

    OMP_NUM_THREADS=1 python benchmarks/bench_ann.py [--root ../shared/data]

Two cases: the item embeddings of cdgraph's model trained on Amazon Sport->Cloth
(39k items, all 9,928 users as queries), and random Gaussian vectors, 100k items x
10k queries (the hard case for graph indexes). Writes results/ann.json and results/ann.md.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time

import numpy as np
import torch

import cdgraph
from cdgraph.models.ann import ItemIndex

HERE = os.path.dirname(os.path.abspath(__file__))


def measure(name: str, items: np.ndarray, queries: np.ndarray, k: int = 10) -> list[dict]:
    rows = []
    exact = ItemIndex(items, method="exact")
    started = time.perf_counter()
    exact.search(queries, k)
    exact_s = time.perf_counter() - started
    rows.append({"case": name, "method": "exact", "ef_search": None, "build_s": 0.0,
                 "search_s": exact_s, "recall@10": 1.0, "items": len(items), "queries": len(queries)})
    for ef in (32, 128, 512):
        started = time.perf_counter()
        index = ItemIndex(items, method="hnsw", ef_search=ef)
        build = time.perf_counter() - started
        started = time.perf_counter()
        index.search(queries, k)
        search = time.perf_counter() - started
        rows.append({"case": name, "method": "hnsw", "ef_search": ef, "build_s": build, "search_s": search,
                     "recall@10": index.recall(queries, k), "items": len(items), "queries": len(queries)})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=None)
    parser.add_argument("--epochs", type=int, default=30)
    args = parser.parse_args()
    torch.set_num_threads(1)
    data = cdgraph.datasets.load("amazon-sport-cloth", root=args.root)
    sp = cdgraph.data.split.predefined(data, "cloth")
    model = cdgraph.GraphRecommender("cloth", source_weight=3.0).fit(sp, epochs=args.epochs, progress=False)
    users = model.user_vectors(torch.arange(data.num_users)).numpy()
    items = model.final()[1].numpy()
    rng = np.random.default_rng(0)
    rows = measure("sport-cloth model", items, users)
    rows += measure("random 100k x 64", rng.standard_normal((100_000, 64)).astype(np.float32),
                    rng.standard_normal((10_000, 64)).astype(np.float32))
    env = {"threads": torch.get_num_threads(), "python": platform.python_version(), "torch": torch.__version__}
    with open(os.path.join(HERE, "results", "ann.json.tmp"), "w") as fh:
        json.dump({"env": env, "rows": rows}, fh, indent=1)
    os.replace(os.path.join(HERE, "results", "ann.json.tmp"), os.path.join(HERE, "results", "ann.json"))
    lines = ["# Approximate top-k (faiss HNSW) against exact (benchmarks/bench_ann.py)", "",
             f"One thread; top-10 by inner product; recall = share of the exact top-10 returned. {env}", "",
             "| case | method | efSearch | build s | search s | speed-up | recall@10 |", "|---|---|---|---|---|---|---|"]
    for case in dict.fromkeys(r["case"] for r in rows):
        base = next(r["search_s"] for r in rows if r["case"] == case and r["method"] == "exact")
        for r in (r for r in rows if r["case"] == case):
            lines.append(f"| {case} ({r['items']} items, {r['queries']} queries) | {r['method']} | "
                         f"{r['ef_search'] or ''} | {r['build_s']:.2f} | {r['search_s']:.2f} | "
                         f"{base / r['search_s']:.1f}x | {r['recall@10']:.3f} |")
    with open(os.path.join(HERE, "results", "ann.md.tmp"), "w") as fh:
        fh.write("\n".join(lines) + "\n")
    os.replace(os.path.join(HERE, "results", "ann.md.tmp"), os.path.join(HERE, "results", "ann.md"))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
