"""GraphMix's bridge over the graph model's own factors against PTUPCDR's separate factors.

On cold-start tasks ``cdgraph`` (:class:`~cdgraph.models.GraphMix`) mixes its joint-graph model
with a PTUPCDR bridge for users new to the target. The published bridge maps between
per-domain LightGCN factors trained for it alone (``bridge_factors="separate"``), two more
fits; ``bridge_factors="graph"`` maps between the graph model's own embeddings and trains the
bridge network only. Does the cheaper bridge rank as well? (issue #22, item 1)

Per task and seed, the graph model is fitted once, with the source weight the committed grid
(``results/grid/results.csv``) chose for that seed, so that the ``separate`` row reproduces the
grid's ``cdgraph`` row; both bridges and their mixing weight are then fitted on that same
graph model, on the grid's protocol (``benchmarks/grid.toml``'s epochs and training options,
selection on validation MRR, 1 + 999 sampled). ``bridge s`` is everything a bridge adds after the graph
model (its factor fits, its meta training, the choice of its weight).

    OMP_NUM_THREADS=1 CDGRAPH_DATA=../shared/data python benchmarks/bench_bridge.py \
        [--tasks game-video-cold video-game-cold] [--seeds 0 1 2 3 4] [--report-only]

Rows are appended to ``results/bridge.jsonl`` (finished ones skipped: it resumes);
``results/bridge.md`` is rewritten after each.
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from cdgraph import TrainConfig, datasets
from cdgraph.benchmark.runner import GridConfig
from cdgraph.benchmark.tasks import get_task
from cdgraph.data.split import SPLITS
from cdgraph.io.atomic import atomic_write_text
from cdgraph.models.graph_mix import GraphMix

HERE = Path(__file__).resolve().parent
OUT = HERE / "results"
GRID = GridConfig.from_toml(HERE / "grid.toml")  # the grid's epochs and training options


class OnFittedGraph(GraphMix):
    """GraphMix whose graph-model phase is replaced by an already fitted graph model: both
    bridges are then compared on the very same graph model."""

    def __init__(self, target: str, fitted_graph, **options) -> None:
        super().__init__(target, **options)
        self._fitted_graph = fitted_graph

    def phases(self, split, config):
        phases = super().phases(split, config)
        first = next(phases)  # Fit("graph", graph, split): not run, the fitted one stands in
        first.model.__dict__.update(self._fitted_graph.__dict__)
        try:
            phase = phases.send(first.model)
            while True:
                phase = phases.send((yield phase))
        except StopIteration:
            return


def run(task_name: str, seed: int, grid: pd.DataFrame, root: str | None) -> list[dict]:
    """Both bridges on one graph model of ``task_name`` with ``seed``: two result rows."""
    task = get_task(task_name)
    data = datasets.load(task.dataset, root=root)
    split = SPLITS.get(task.split)(data, task.target)
    committed = grid[(grid.task == task_name) & (grid.method == "cdgraph") & (grid.seed == seed)].iloc[0]
    config = TrainConfig(valid_metric=task.metric, **GRID.fit, epochs=GRID.epochs_for(task_name),
                         seed=seed, valid_protocol="sampled", valid_negatives=task.num_negatives, progress=False,
                         source_weight=float(committed.source_weight))
    graph_epochs: list[float] = []
    started = time.perf_counter()
    first = GraphMix(task.target, bridge_factors="graph").fit(split, config, callbacks=[
        lambda path, state: graph_epochs.append(time.perf_counter()) if path == "graph/train" else None])
    ended = time.perf_counter()
    graph_seconds, seconds = graph_epochs[-1] - started, {"graph": ended - graph_epochs[-1]}
    started = time.perf_counter()
    second = OnFittedGraph(task.target, first.graph_, bridge_factors="separate").fit(split, config)
    seconds["separate"] = time.perf_counter() - started
    rows = []
    for kind, model in (("graph", first), ("separate", second)):
        test = model.evaluate(split, protocol="sampled", num_negatives=task.num_negatives, k=(1, 5, 10), seed=seed)
        rows.append({"task": task_name, "kind": kind, "seed": seed, "source_weight": float(committed.source_weight),
                     "graph_seconds": round(graph_seconds, 1), "bridge_seconds": round(seconds[kind], 1),
                     "bridge_weight": model.beta_, "valid_MRR": max(model.valid_scores_["beta"].values()),
                     "MRR": test["MRR"], "NDCG@10": test["NDCG@10"], "grid_MRR": float(committed.MRR)})
    return rows


def report(rows: pd.DataFrame) -> str:
    """Per task: means over seeds of both bridges, the paired difference and its t-test."""
    lines = ["# GraphMix's bridge: the graph model's factors against separate ones", "",
             "Written by `benchmarks/bench_bridge.py` (see its docstring for the protocol). Test MRR and "
             "NDCG@10 on the 1 + 999 sampled protocol; `bridge s`: seconds a bridge adds after the graph "
             "model (one thread per process, other jobs on the machine); `graph s`: the graph model's fit. "
             "`reproduces grid`: the separate bridge's MRR equals the committed grid's `cdgraph` row.", "",
             "| task | seeds | graph s | bridge s: graph / separate | MRR: graph / separate | "
             "difference (paired t-test p) | NDCG@10: graph / separate | reproduces grid |",
             "|---" * 8 + "|"]
    for task, group in rows.groupby("task", sort=False):
        g = group[group.kind == "graph"].set_index("seed")
        s = group[group.kind == "separate"].set_index("seed")
        seeds = g.index.intersection(s.index)
        g, s = g.loc[seeds], s.loc[seeds]
        diff = g.MRR - s.MRR
        p = stats.ttest_rel(g.MRR, s.MRR).pvalue if len(seeds) > 1 else float("nan")
        same = int(np.isclose(s.MRR, s.grid_MRR, rtol=0, atol=1e-9).sum())
        lines.append(f"| {task} | {len(seeds)} | {g.graph_seconds.mean():.0f} | {g.bridge_seconds.mean():.0f} / "
                     f"{s.bridge_seconds.mean():.0f} | {g.MRR.mean():.4f} / {s.MRR.mean():.4f} | "
                     f"{diff.mean():+.4f} ± {diff.std():.4f} (p = {p:.3f}) | {g['NDCG@10'].mean():.4f} / "
                     f"{s['NDCG@10'].mean():.4f} | {same} of {len(seeds)} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=["game-video-cold", "video-game-cold"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--root", default=os.environ.get("CDGRAPH_DATA"))
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args()
    path = OUT / "bridge.jsonl"
    done = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
    grid = pd.read_csv(OUT / "grid" / "results.csv")
    for task in [] if args.report_only else args.tasks:
        for seed in args.seeds:
            if any(r["task"] == task and r["seed"] == seed for r in done):
                continue
            rows = run(task, seed, grid, args.root)
            for row in rows:
                print(json.dumps(row), flush=True)
            done += rows
            atomic_write_text(path, "".join(json.dumps(r) + "\n" for r in done))
            atomic_write_text(OUT / "bridge.md", report(pd.DataFrame(done)))
    if done:
        atomic_write_text(OUT / "bridge.md", report(pd.DataFrame(done)))
        print((OUT / "bridge.md").read_text())


if __name__ == "__main__":
    main()
