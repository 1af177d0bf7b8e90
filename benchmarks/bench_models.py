"""Recommendation quality of cdgraph's models and the baselines, over seeds, on real data.

Every model gets the same epoch budget, early stopping on the same validation metric and
the same evaluation. Results append to a CSV as each run finishes, so an interrupted run
resumes where it stopped; the markdown table (mean ± std, best baseline marked, one-sided
paired t-test of each model against the best baseline) is rewritten from the CSV.

    python benchmarks/bench_models.py --tasks sport-cloth douban-music --seeds 0 1 2 3 4

Tasks: ``sport-cloth`` (Amazon Sport->Cloth, DisenCDR split, 1 + 999 sampled) and
``douban-music`` (Douban Book->Music, leave-one-out on each user's last line, 1 + 99).
"""
from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any

import numpy as np
import pandas as pd
import torch

import cdgraph
from cdgraph.models import baselines
from cdgraph import datasets
from cdgraph.evaluation import paired_test

TASKS: dict[str, dict[str, Any]] = {
    "sport-cloth": {"dataset": "amazon-sport-cloth", "target": "cloth", "split": "predefined",
                    "num_negatives": 999},
    "cloth-sport": {"dataset": "amazon-sport-cloth", "target": "sport", "split": "predefined",
                    "num_negatives": 999},
    "douban-music": {"dataset": "douban-book-music", "target": "music", "split": "leave_one_out",
                     "num_negatives": 99},
    "douban-book": {"dataset": "douban-book-music", "target": "book", "split": "leave_one_out",
                    "num_negatives": 99},
}

#: name -> (constructor keyword arguments, extra fit options); baselines come from cdgraph.models.baselines.
MODELS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "cdgraph": ({}, {}),  # the default CrossDomainRecommender
    "bitgcf": ({"encoder": "bitgcf", "fusion": "attention", "layers": 3}, {"source_weight": 1.0}),
}
BASELINES = ["pop", "bprmf", "lightgcn-target", "lightgcn-joint"]
METRICS = ["NDCG@10", "HR@10", "Recall@20", "NDCG@20"]


def build(name: str, target: str) -> tuple[Any, dict[str, Any]]:
    if name in baselines.BASELINES:
        return baselines.make(name, target), dict(baselines.FIT_OPTIONS[name])
    kwargs, fit = MODELS[name]
    return cdgraph.CrossDomainRecommender(target=target, **kwargs), dict(fit)


def run_one(task: str, name: str, seed: int, epochs: int, root: str | None) -> dict[str, Any]:
    spec = TASKS[task]
    data = datasets.load(spec["dataset"], root=root)
    sp = getattr(cdgraph.data.split, spec["split"])(data, spec["target"], seed=0)
    model, fit = build(name, spec["target"])
    started = time.perf_counter()
    model.fit(sp, epochs=epochs, seed=seed, valid_protocol="sampled", lr=0.01, batch_size=8192,
              num_negatives=spec["num_negatives"], progress=False, **fit)
    sampled = model.evaluate(sp, protocol="sampled", num_negatives=spec["num_negatives"], k=(10,), seed=seed)
    full = model.evaluate(sp, protocol="full", k=(20,))
    history = getattr(model, "history_", None)
    return {"task": task, "model": name, "seed": seed, "NDCG@10": sampled["NDCG@10"],
            "HR@10": sampled["HR@10"], "MRR": sampled["MRR"], "Recall@20": full["Recall@20"],
            "NDCG@20": full["NDCG@20"], "epochs_run": 0 if history is None else len(history),
            "seconds": time.perf_counter() - started}


def table(results: pd.DataFrame) -> str:
    lines = []
    for task, rows in results.groupby("task", sort=False):
        spec = TASKS[task]
        budget = ", ".join(str(int(b)) for b in sorted(rows["epochs_budget"].unique()))
        lines += [f"### {task}: {spec['dataset']}, target {spec['target']}, "
                  f"{spec['split']} split; NDCG@10 / HR@10 sampled 1 + {spec['num_negatives']}, "
                  f"Recall@20 / NDCG@20 full ranking; epoch budget {budget} for every model", ""]
        means = rows.groupby("model")[METRICS].mean()
        base = [b for b in BASELINES if b in means.index]
        best = means.loc[base, "NDCG@10"].idxmax() if base else None
        refs = [best] + [b for b in ("lightgcn-target", "lightgcn-joint") if b in means.index and b != best]
        lines.append("| model | seeds | " + " | ".join(METRICS) + " | "
                     + " | ".join(f"p vs {r} (NDCG@10)" for r in refs) + " |")
        lines.append("|---" * (len(METRICS) + 2 + len(refs)) + "|")
        for model, grp in rows.groupby("model", sort=False):
            cells = [f"{grp[m].mean():.4f} ± {grp[m].std(ddof=1) if len(grp) > 1 else 0:.4f}" for m in METRICS]
            pvals = []
            for ref_name in refs:
                p = ""
                if model != ref_name and model not in BASELINES:
                    ref = rows[rows["model"] == ref_name].set_index("seed")["NDCG@10"]
                    mine = grp.set_index("seed")["NDCG@10"]
                    seeds = ref.index.intersection(mine.index)
                    if len(seeds) >= 2:
                        test = paired_test(mine[seeds].to_numpy(), ref[seeds].to_numpy(), alternative="greater")
                        p = f"{test['p']:.2g} ({test['mean_diff']:+.4f})"
                pvals.append(p)
            label = f"**{model}** (best baseline)" if model == best else model
            lines.append(f"| {label} | {len(grp)} | " + " | ".join(cells + pvals) + " |")
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=["sport-cloth", "douban-music"], choices=sorted(TASKS))
    parser.add_argument("--models", nargs="+", default=list(MODELS) + BASELINES)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--root", default=None)
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results", "models"))
    parser.add_argument("--merge", nargs="*", default=[],
                        help="CSV files of other runs (e.g. parallel processes) to fold into --out first")
    args = parser.parse_args()
    torch.set_num_threads(max(1, torch.get_num_threads()))

    csv = args.out + ".csv"
    done = pd.read_csv(csv) if os.path.exists(csv) else pd.DataFrame(columns=["task", "model", "seed"])
    for other in args.merge:
        done = pd.concat([done, pd.read_csv(other)], ignore_index=True)
    done = done.drop_duplicates(["task", "model", "seed"], keep="last").reset_index(drop=True)
    if args.merge:
        done.to_csv(csv + ".tmp", index=False)
        os.replace(csv + ".tmp", csv)
    have = set(zip(done["task"], done["model"], done["seed"]))
    todo = [(t, m, s) for t in args.tasks for m in args.models for s in args.seeds if (t, m, s) not in have]
    print(f"{len(have)} runs done, {len(todo)} to go", flush=True)
    for n, (task, model, seed) in enumerate(todo, 1):
        row = run_one(task, model, seed, args.epochs, args.root)
        row["epochs_budget"] = args.epochs
        done = pd.concat([done, pd.DataFrame([row])], ignore_index=True)
        tmp = csv + ".tmp"
        done.to_csv(tmp, index=False)
        os.replace(tmp, csv)
        print(f"[{n}/{len(todo)}] {task} {model} seed={seed}: NDCG@10={row['NDCG@10']:.4f} "
              f"HR@10={row['HR@10']:.4f} Recall@20={row['Recall@20']:.4f} ({row['seconds']:.0f}s)", flush=True)
    md = table(done)
    with open(args.out + ".md.tmp", "w") as fh:
        fh.write("# Model quality (benchmarks/bench_models.py)\n\n")
        fh.write("Mean ± std over seeds (each seed: training seed and the seed of the sampled "
                 "negatives). The p columns are one-sided paired t-tests over seeds of the model's "
                 "NDCG@10 against the best baseline's and each LightGCN baseline's (mean difference "
                 "in brackets). Made by `python benchmarks/bench_models.py` "
                 "(see `benchmarks/README.md` for the exact commands); every model gets the same "
                 "epoch budget, learning rate 0.01, batch 8192, early stopping (patience 10) on "
                 "sampled validation NDCG@10.\n\n" + md)
    os.replace(args.out + ".md.tmp", args.out + ".md")
    print(md)
    with open(args.out + ".json.tmp", "w") as fh:
        json.dump(done.to_dict(orient="records"), fh, indent=1, default=float)
    os.replace(args.out + ".json.tmp", args.out + ".json")


if __name__ == "__main__":
    main()
