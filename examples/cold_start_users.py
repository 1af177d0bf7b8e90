"""Cold-start users: recommend videos to Amazon gamers who never bought a video.

CDRIB's Amazon Game -> Video pair (``amazon-coldstart-game-video``, ICDE 2022) ships a split
whose validation and test users have game purchases but no video purchase in training: a
target-only model knows nothing about them, and what it can recommend comes across the users
the domains share. The protocol is the paper's (benchmark task ``game-video-cold``): each
held-out purchase ranked against 999 sampled videos, MRR / NDCG@5,10 / HR@1,5,10, models
selected on validation MRR.

It trains cdgraph's best model and the two published cold-start methods built for this
setting, each on the same LightGCN factors:

* ``cdgraph``: LightGCN on the joint game + video graph, mixed for cold users with a PTUPCDR
  bridge (the weight chosen on validation);
* PTUPCDR (Zhu et al., WSDM 2022, ``ptupcdr-lightgcn``): a meta network maps each user's game
  factors to video factors, personalised by the user's game history; it is cdgraph's bridge,
  read off the fitted model (``model.bridge_``: the same model, options and seed as
  ``make_model("ptupcdr-lightgcn")``), as is the joint graph (``model.graph_``);
* EMCDR (Man et al., IJCAI 2017, ``emcdr-lightgcn``): one mapping for everybody;
* popularity, the floor.

It prints the test metrics, then a cold user's games and the videos cdgraph recommends them.

    python examples/cold_start_users.py [--epochs 15] [--meta-epochs 20] [--layers 4] [--root PATH]
                                        [--seed 0]

``--meta-epochs`` trains PTUPCDR's meta network (default: PTUPCDR's 20), ``--layers`` sets the
LightGCN layers of every model (default: theirs, 4). The data comes from ``--root``, else
``$CDGRAPH_DATA``, else it is downloaded. On 2 cores (one thread) it takes 6.5 minutes with the
defaults (``time``: real 6m27s), for MRR 0.071 (cdgraph), 0.067 (PTUPCDR), 0.052 (EMCDR) and
0.040 (popularity); the grid (``benchmarks/results/grid``: 30 epochs, the source weight
searched, 5 seeds) has 0.076 for cdgraph and 0.069 for ``ptupcdr-lightgcn``.
"""
from __future__ import annotations

import argparse
import os
import time

import pandas as pd

import cdgraph

DATASET, SOURCE, TARGET = "amazon-coldstart-game-video", "game", "video"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--meta-epochs", type=int, default=20, help="epochs of PTUPCDR's meta network")
    parser.add_argument("--layers", type=int, default=4, help="LightGCN layers of every model")
    parser.add_argument("--root", default=os.environ.get("CDGRAPH_DATA"), help="dataset root (default: $CDGRAPH_DATA)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    started = time.perf_counter()

    data = cdgraph.datasets.load(DATASET, root=args.root)
    print(data.summary()[["users", "items", "interactions", "shared_game", "shared_video"]].to_string(), "\n")
    split = cdgraph.split.predefined(data, target=TARGET)  # the paper's cold-start users
    held_out = pd.concat([split.valid, split.test])["user"].unique()
    warm = split.train[TARGET]["user"].isin(held_out).sum()
    print(f"{split}\n{len(held_out)} validation and test users, {warm} of them with a {TARGET} purchase in training\n")

    fit = dict(epochs=args.epochs, seed=args.seed, valid_metric="MRR")  # the task's model selection
    model = cdgraph.make_model("cdgraph", target=TARGET, source_weight=1.0, layers=args.layers,
                               bridge_options={"layers": args.layers, "meta_epochs": args.meta_epochs})
    model.fit(split, **fit)
    models = {"cdgraph (best model)": model,
              "PTUPCDR (LightGCN factors)": model.bridge_,
              "EMCDR (LightGCN factors)": cdgraph.make_model("emcdr-lightgcn", target=TARGET,
                                                             layers=args.layers).fit(split, **fit),
              "LightGCN, joint graph": model.graph_,
              "popularity": cdgraph.make_model("pop", target=TARGET).fit(split)}
    rows = {name: fitted.evaluate(split, protocol="sampled", num_negatives=999, k=(1, 5, 10), seed=args.seed)
            for name, fitted in models.items()}
    table = pd.DataFrame.from_dict(rows, orient="index")
    print(table[["MRR", "NDCG@5", "NDCG@10", "HR@1", "HR@5", "HR@10"]].round(4).to_string())
    print(f"Test: {len(split.test)} purchases of cold users, each against 999 sampled videos. Budget: at most "
          f"{args.epochs} epochs per LightGCN ({args.layers} layers), {args.meta_epochs} for PTUPCDR's meta "
          f"network, early stopping on validation MRR, source weight fixed at 1.0 (no search), seed {args.seed}; "
          f"cdgraph gives its bridge weight {model.beta_} (chosen on validation).\n")

    test, games = split.raw("test"), data.interactions(SOURCE, raw=True)
    games = games[games["user"].isin(test["user"])]
    user = games.groupby("user").size().idxmax()  # the test user with the most games
    bought_games = games.loc[games["user"] == user, "item"]
    print(f"User {user}: no {TARGET} in training; {len(bought_games)} {SOURCE}s bought, the last ones: "
          f"{', '.join(map(str, bought_games.tail(8)))}")
    top = model.recommend([user], k=10)["item"].tolist()
    bought = set(test.loc[test["user"] == user, "item"])
    print(f"Top-10 {TARGET}s by cdgraph (* bought, held out): "
          f"{', '.join(f'{i}*' if i in bought else str(i) for i in top)}")
    print(f"\n{time.perf_counter() - started:.0f} s from loading the data to here.")


if __name__ == "__main__":
    main()
