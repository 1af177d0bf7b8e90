"""Quick start: Douban Book -> Music, cdgraph's best model against two LightGCN yardsticks.

Loads Douban's book and music ratings (GA-DTCDR, IJCAI 2020; 2,110 users, 1,566 of them in
both domains), holds out each music user's last rating (``leave_one_out``) and trains
``cdgraph``, the best model. It is made of two LightGCN models, which are the yardsticks:

* LightGCN on the music graph alone (no transfer), ``make_model("lightgcn-target")``;
* LightGCN on the joint book + music graph, ``make_model("lightgcn-joint", source_weight=1.0)``;

cdgraph ranks a user's music items by the joint graph's standardised scores mixed with the
target-only model's (the weight chosen on validation). Its parts are the very models those
names build with the same options and seed, so the script trains each once and reads them off
the fitted model (``model.target_only_``, ``model.graph_``).

It prints the three models' test metrics (NDCG@10 and HR@10 against 99 sampled negatives, the
dataset's protocol; Recall@20 and NDCG@20 ranking every music item) with the budget used, then
the top-5 music items cdgraph recommends to a few users, in raw ids.

To stay short the budget is small: at most 40 epochs, and the joint graph's source weight fixed
at 1.0 (by default cdgraph chooses it on validation among 5 candidates, several times the work).

    python examples/quickstart.py [--epochs 40] [--root PATH] [--seed 0]

The data comes from ``--root``, else ``$CDGRAPH_DATA``, else it is downloaded. On 2 cores (one
thread) it takes 80 s with the defaults, imports and data loading included (``time``: real
1m19s), for NDCG@10 0.269 (cdgraph), 0.257 (joint graph) and 0.251 (target only); the grid's
100-epoch runs (``benchmarks/results/grid``, 5 seeds) have 0.266, 0.258 and 0.255.
"""
from __future__ import annotations

import argparse
import os
import time

import pandas as pd
import torch

import cdgraph

DATASET, TARGET = "douban-book-music", "music"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--root", default=os.environ.get("CDGRAPH_DATA"), help="dataset root (default: $CDGRAPH_DATA)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    started = time.perf_counter()

    data = cdgraph.datasets.load(DATASET, root=args.root)
    print(data.summary()[["users", "items", "interactions", "shared_book", "shared_music"]].to_string(), "\n")
    split = cdgraph.split.leave_one_out(data, target=TARGET, seed=args.seed)
    print(split, "\n")

    model = cdgraph.make_model("cdgraph", target=TARGET, source_weight=1.0)
    model.fit(split, epochs=args.epochs, seed=args.seed)
    trained = {"LightGCN, target only": model.target_only_, "LightGCN, joint graph": model.graph_}
    epochs = {name: len(part.history_) for name, part in trained.items()}
    models = {"cdgraph (best model)": model, **trained}

    negatives = cdgraph.datasets.info(DATASET)["protocol"]["num_negatives"]  # GA-DTCDR's 99
    rows = {}
    for name, fitted in models.items():
        sampled = fitted.evaluate(split, protocol="sampled", num_negatives=negatives, k=(10,), seed=args.seed)
        full = fitted.evaluate(split, protocol="full", k=(20,))
        rows[name] = {f"NDCG@10 (1+{negatives})": sampled["NDCG@10"], f"HR@10 (1+{negatives})": sampled["HR@10"],
                      "Recall@20 (full)": full["Recall@20"], "NDCG@20 (full)": full["NDCG@20"],
                      "epochs": epochs.get(name, "its parts'")}
    print(pd.DataFrame.from_dict(rows, orient="index").round(4).to_string())
    print(f"Budget: at most {args.epochs} epochs per LightGCN (early stopping on validation NDCG@10), source "
          f"weight fixed at 1.0 (no search), seed {args.seed}, {torch.get_num_threads()} thread(s); cdgraph "
          f"gives the target-only scores weight {model.gamma_} (chosen on validation).\n")

    test = split.raw("test").set_index("user")["item"]
    users = list(test.index[:3])
    print(f"Top-5 {TARGET} items for users {users} (raw ids; * marks the user's held-out test item):")
    for user, top in model.recommend(users, k=5).groupby("user", sort=False):
        items = [f"{item}*" if item == test[user] else str(item) for item in top["item"]]
        print(f"  user {user}: {', '.join(items)}   (held out: {test[user]})")
    print(f"\n{time.perf_counter() - started:.0f} s from loading the data to here.")


if __name__ == "__main__":
    main()
