"""Item text in cdgraph's model: id-only against id + text, on warm users, new items and a thin bridge.

    OMP_NUM_THREADS=1 python benchmarks/bench_content.py [--seeds 0 1 2 3 4] [--epochs 5]
        [--datasets amazon-food-kitchen amazon-art-office] [--targets food art]
        [--settings predefined cold-items thin-bridge] [--models idonly wordllama tfidf bridge pop knn wordllama-abtt knn-abtt graph-idonly graph-text graph-bridge]
        [--root PATH] [--report-only]

Datasets with item titles (``amazon-food-kitchen``, ``amazon-art-office``), each domain in turn
the target. Settings: ``predefined`` (the dataset's split: warm held-out users), ``new-items``
(:func:`cdgraph.data.cold_items`, 20 % of the target's items lose every training interaction;
each test row's new item is ranked against up to 999 other new items of the test half, never
one the user holds out), ``thin-bridge`` (the predefined split with 10 % of the shared users
keeping their source history, :func:`cdgraph.data.thin_bridge`). Splits are drawn with seed 0;
each seed trains and draws the 1 + 999 sampled test negatives.

``cold-items`` (not in the default design, kept for the rows measured with it) is the same
split evaluated as the others are: negatives drawn from the target's *trained* items only. A
model then wins by putting new items above trained ones, whichever new item it is. The
``new_in_top10`` column (cold-items and new-items rows) gives the share of new items in the
test users' top-10 lists over the whole catalogue: about 0.2, a fifth of the catalogue, when a
model treats new and trained items alike. ``new-items`` measures what text is for: which new
item.

Models (``--models``):

* ``idonly``: ``cdgraph`` with ``content=None``;
* ``wordllama-abtt``: ``cdgraph`` with the item titles (``content="auto"``) encoded by
  WordLlama as the models do by default: centred over the catalogue, the two leading principal
  directions removed (``text_options={"remove_top": 2}``,
  :func:`cdgraph.text.postprocess.all_but_the_top`);
* ``wordllama``: the same with WordLlama's raw token means (``remove_top=None``; the models'
  default before all-but-the-top);
* ``tfidf``: with the titles encoded by TF-IDF + SVD;
* ``bridge``: ``wordllama`` (raw means) plus the content bridge (``content_bridge={"k": 10,
  "threshold": 0.5}``), on ``thin-bridge`` only unless ``--bridge-everywhere``;
* ``pop``, and ``knn-abtt`` and ``knn`` (``content-knn`` with WordLlama, post-processed and raw):
  the yardsticks;
* ``graph-idonly``, ``graph-text``, ``graph-bridge``: the joint-graph model alone (``graph``,
  no mix with a target-only model), id-only, with WordLlama text (raw means), and with it and the
  content bridge (``thin-bridge`` only, like ``bridge``). Not in the default design: they
  measure transfer where it happens. ``cdgraph`` mixes warm users' scores with a target-only
  model that never sees the source, with a weight that came out at 0.2-1.0, so thinning the
  bridge can hardly move it.

Every graph model gets the same budget: ``--epochs`` epochs, ``source_weight=1.0`` (no search),
``patience=None``, the other options at their defaults. One row per finished run is appended to
``results/content.csv`` (finished runs are skipped: the benchmark resumes), each run's per-row
test ranks to ``results/content.ranks.jsonl``; ``results/content.md`` is rewritten after every
run: means over seeds, paired tests (per test row, Wilcoxon signed-rank on the row's NDCG@10
averaged over seeds; and a t-test over seeds) and how much of the thin bridge's gap to the full
bridge the content bridge recovers.
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from scipy import stats

import cdgraph
from cdgraph.io.atomic import atomic_write_text

HERE = Path(__file__).resolve().parent
OUT = HERE / "results"
KEYS = ["dataset", "target", "setting", "model", "seed"]
DATASETS = {"amazon-food-kitchen": ["food", "kitchen"], "amazon-art-office": ["art", "office"]}
SETTINGS = ["predefined", "new-items", "cold-items", "thin-bridge"]
DESIGN_SETTINGS = ["predefined", "new-items", "thin-bridge"]  # cold-items: the earlier, exploitable protocol
BRIDGE = {"k": 10, "threshold": 0.5}
RAW = {"remove_top": None}  # WordLlama's raw token means
ABTT = {"remove_top": 2}    # centred, two leading directions removed: what content="auto" does by default
GRAPH_NEW = {"new_items": None}  # new items scored by the graph model (GraphMix's behaviour before new_items)
MODELS = {
    "idonly": ("cdgraph (id only)", "cdgraph", {"content": None}),
    "default": ("cdgraph + text (its defaults: wordllama, all-but-the-top, new items by content)", "cdgraph",
                {"content": "auto"}),
    "wordllama-abtt": ("cdgraph + text (wordllama, all-but-the-top, new items by the graph)", "cdgraph",
                       {"content": "auto", "text_encoder": "wordllama", "text_options": ABTT, **GRAPH_NEW}),
    "wordllama": ("cdgraph + text (wordllama, raw means, new items by the graph)", "cdgraph",
                  {"content": "auto", "text_encoder": "wordllama", "text_options": RAW, **GRAPH_NEW}),
    "tfidf": ("cdgraph + text (tfidf, new items by the graph)", "cdgraph",
              {"content": "auto", "text_encoder": "tfidf", **GRAPH_NEW}),
    "bridge": ("cdgraph + text (raw means) + content bridge", "cdgraph",
               {"content": "auto", "text_encoder": "wordllama", "text_options": RAW, "content_bridge": BRIDGE,
                **GRAPH_NEW}),
    "pop": ("popularity", "pop", {}),
    "knn-abtt": ("content-knn (wordllama, all-but-the-top)", "content-knn",
                 {"text_encoder": "wordllama", "text_options": ABTT}),
    "knn": ("content-knn (wordllama, raw means)", "content-knn", {"text_encoder": "wordllama", "text_options": RAW}),
    "graph-idonly": ("graph model alone (id only)", "graph", {"content": None}),
    "graph-text": ("graph model alone + text (wordllama, raw means)", "graph",
                   {"content": "auto", "text_encoder": "wordllama", "text_options": RAW}),
    "graph-bridge": ("graph model alone + text (raw means) + content bridge", "graph",
                     {"content": "auto", "text_encoder": "wordllama", "text_options": RAW, "content_bridge": BRIDGE}),
}
DEFAULT_MODELS = ["idonly", "default", "wordllama-abtt", "wordllama", "tfidf", "bridge", "pop", "knn-abtt", "knn"]
GRAPH_MODELS = {"idonly", "default", "wordllama", "tfidf", "bridge", "wordllama-abtt", "graph-idonly", "graph-text",
                "graph-bridge"}
THIN_ONLY = {"bridge", "graph-bridge"}  # content-bridge models: on thin-bridge unless --bridge-everywhere
#: (level, id-only, text, text + content bridge) of the recovery table
LEVELS = [("cdgraph", "idonly", "wordllama", "bridge"),
          ("graph model alone", "graph-idonly", "graph-text", "graph-bridge")]


def make_split(data: cdgraph.CrossDomainData, target: str, setting: str) -> cdgraph.Split:
    if setting == "predefined":
        return cdgraph.split.predefined(data, target)
    if setting in ("cold-items", "new-items"):
        return cdgraph.data.cold_items(data, target, fraction=0.2, seed=0)
    return cdgraph.data.thin_bridge(cdgraph.split.predefined(data, target), keep=0.1, seed=0)


def run_one(data, split, dataset: str, target: str, setting: str, model: str, seed: int,
            epochs: int) -> tuple[dict, list[int]]:
    """Fit one model on one split with one seed; its results row and per-row test ranks."""
    label, name, options = MODELS[model]
    fit = dict(epochs=epochs, seed=seed, patience=None, progress=False, valid_metric="NDCG@10",
               valid_protocol="sampled", valid_negatives=999)
    if model in GRAPH_MODELS:
        fit["source_weight"] = 1.0
    started = time.perf_counter()
    fitted = cdgraph.make_model(name, target, **options).fit(split, **fit)
    seconds = time.perf_counter() - started
    negatives = cdgraph.evaluation.new_item_negatives(split, seed=seed) if setting == "new-items" else "sampled"
    rows = fitted.evaluate(split, protocol="sampled", num_negatives=999, k=(5, 10), seed=seed, per_row=True,
                           negatives=negatives)
    metrics = rows.drop(columns=[c for c in rows.columns if c == "rank" or rows[c].dtype == object]).mean()
    row = {"dataset": dataset, "target": target, "setting": setting, "model": model, "seed": seed,
           "label": label, "epochs": epochs if model in GRAPH_MODELS else 0, "seconds": round(seconds, 1),
           "test_rows": len(rows), **{k: float(metrics[k]) for k in ("MRR", "NDCG@5", "NDCG@10", "HR@10")}}
    for attr, column in (("beta_", "bridge_weight"), ("gamma_", "target_only_weight")):
        if getattr(fitted, attr, None) is not None:
            row[column] = getattr(fitted, attr)
    if setting in ("cold-items", "new-items"):
        row["new_in_top10"] = new_in_top10(fitted, split)
    return row, rows["rank"].astype(int).tolist()


def new_in_top10(fitted: cdgraph.Recommender, split: cdgraph.Split) -> float:
    """The share of new (cold) items in the test users' top-10 lists over the whole catalogue,
    their training items left out (``recommend``): a fifth of the catalogue is new, so about 0.2
    when a model treats new and trained items alike."""
    data = split.data
    new = np.zeros(data.num_items(split.target), bool)
    new[split.info["cold_items"]] = True
    top = fitted.recommend(data.user_ids[np.unique(split.test["user"].to_numpy())], k=10)
    return float(new[data.item_index(split.target, top["item"])].mean())


def finished(done: pd.DataFrame) -> set[tuple]:
    """The (dataset, target, setting, model, seed) keys of the rows in ``done``."""
    return {(d, t, s, m, int(seed)) for d, t, s, m, seed in done[KEYS].itertuples(index=False)}


def ndcg10(ranks: np.ndarray) -> np.ndarray:
    return np.where(ranks < 10, 1.0 / np.log2(ranks + 2.0), 0.0)


def read_ranks(path: Path) -> dict[tuple, np.ndarray]:
    out = {}
    if path.exists():
        for line in path.read_text().splitlines():
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:  # a line cut by a kill: that run is redone
                continue
            out[tuple(entry["key"])] = np.asarray(entry["ranks"])
    return out


def per_row(ranks: dict, dataset: str, target: str, setting: str, model: str, seeds: list[int]) -> np.ndarray | None:
    """NDCG@10 of each test row averaged over ``seeds`` (None unless every seed is there)."""
    runs = [ranks.get((dataset, target, setting, model, s)) for s in seeds]
    if any(r is None for r in runs) or len({len(r) for r in runs}) != 1:
        return None
    return np.mean([ndcg10(r) for r in runs], axis=0)


def compare(results: pd.DataFrame, ranks: dict, cells: list[tuple], a: str, b: str, a_setting: str | None = None,
            b_setting: str | None = None) -> dict | None:
    """``a`` against ``b`` over ``cells`` (dataset, target, setting): mean NDCG@10 difference,
    Wilcoxon over test rows (pooled over the cells) and a t-test over (cell, seed) means."""
    diffs, seed_a, seed_b = [], [], []
    for dataset, target, setting in cells:
        sa, sb = a_setting or setting, b_setting or setting
        both = [set(results.loc[(results["dataset"] == dataset) & (results["target"] == target)
                                & (results["setting"] == s) & (results["model"] == m), "seed"].astype(int))
                for s, m in ((sa, a), (sb, b))]
        seeds = sorted(both[0] & both[1])
        if not seeds:
            return None
        ra, rb = per_row(ranks, dataset, target, sa, a, seeds), per_row(ranks, dataset, target, sb, b, seeds)
        if ra is None or rb is None or len(ra) != len(rb):
            return None
        diffs.append(ra - rb)
        seed_a += [ndcg10(ranks[(dataset, target, sa, a, s)]).mean() for s in seeds]
        seed_b += [ndcg10(ranks[(dataset, target, sb, b, s)]).mean() for s in seeds]
    d = np.concatenate(diffs)
    out = {"diff": float(d.mean()), "rows": len(d), "seeds": len(seed_a) // len(cells)}
    out["p_rows"] = float(stats.wilcoxon(d, alternative="greater").pvalue) if np.any(d) else float("nan")
    out["p_seeds"] = (float(stats.ttest_rel(seed_a, seed_b, alternative="greater").pvalue)
                      if len(seed_a) > 1 and np.any(np.subtract(seed_a, seed_b)) else float("nan"))
    return out


def means_table(results: pd.DataFrame) -> list[str]:
    lines = []
    for (dataset, target), part in results.groupby(["dataset", "target"]):
        lines += [f"### {dataset}, target {target}", "",
                  "| setting | model | NDCG@10 | HR@10 | MRR | seeds | test rows | fit s | new in top-10 |",
                  "|---" * 9 + "|"]
        settings, models = {n: i for i, n in enumerate(SETTINGS)}, {n: i for i, n in enumerate(MODELS)}
        cells = sorted(part.groupby(["setting", "model"]), key=lambda c: (settings[c[0][0]], models[c[0][1]]))
        for (setting, model), cell in cells:
            def fmt(c):
                return f"{cell[c].mean():.4f} ± {cell[c].std(ddof=1) if len(cell) > 1 else 0:.4f}"
            share = cell["new_in_top10"].mean() if "new_in_top10" in cell else float("nan")
            lines.append(f"| {setting} | {MODELS[model][0]} | {fmt('NDCG@10')} | {fmt('HR@10')} | {fmt('MRR')} | "
                         f"{len(cell)} | {int(cell['test_rows'].iloc[0])} | {cell['seconds'].mean():.0f} | "
                         f"{'' if np.isnan(share) else f'{share:.3f}'} |")
        lines.append("")
    return lines


def tests_table(results: pd.DataFrame, ranks: dict) -> list[str]:
    pairs = [("default", "idonly"), ("default", "knn-abtt"), ("default", "wordllama-abtt"),
             ("default", "tfidf"),
             ("wordllama-abtt", "idonly"), ("wordllama-abtt", "wordllama"), ("wordllama-abtt", "tfidf"),
             ("wordllama-abtt", "knn-abtt"), ("knn-abtt", "knn"),
             ("wordllama", "idonly"), ("tfidf", "idonly"), ("wordllama", "tfidf"), ("wordllama", "knn"),
             ("idonly", "pop"), ("bridge", "wordllama"), ("bridge", "idonly"), ("graph-text", "graph-idonly"),
             ("graph-bridge", "graph-text"), ("graph-bridge", "graph-idonly")]
    lines = ["| scope | setting | A | B | NDCG@10 A − B | p (rows, Wilcoxon) | p (seeds, t) | rows |",
             "|---" * 8 + "|"]
    cells_of = results.groupby(["dataset", "target", "setting"]).size().index.tolist()
    for setting in SETTINGS:
        for a, b in pairs:
            scopes = [(f"{ds}/{t}", [(ds, t, setting)]) for ds, t, s in cells_of if s == setting]
            scopes += [(ds, [(d, t, setting) for d, t, s in cells_of if d == ds and s == setting])
                       for ds in dict.fromkeys(d for d, _, s in cells_of if s == setting)]
            for scope, cells in scopes:
                c = compare(results, ranks, cells, a, b) if cells else None
                if c is not None:
                    lines.append(f"| {scope} | {setting} | {a} | {b} | {c['diff']:+.4f} | {c['p_rows']:.3g} | "
                                 f"{c['p_seeds']:.3g} | {c['rows']} |")
    return lines


def recovery_table(results: pd.DataFrame) -> list[str]:
    """How much of the gap between the thin and the full bridge text and the content bridge
    recover, for ``cdgraph`` and for the graph model alone: ``(thin with it - thin without) /
    (full - thin)``; "no gap" when the thin bridge loses less than 0.002 NDCG@10, where the
    share would be noise."""
    lines = ["| model | dataset | target | id only: full / thin | thin + text | text recovers | text: full / thin | "
             "thin + text + content bridge | content bridge recovers |", "|---" * 9 + "|"]
    mean = results.groupby(["dataset", "target", "setting", "model"])["NDCG@10"].mean()

    def share(gain: float, gap: float) -> str:
        return f"{gain / gap:+.0%} (gap {gap:.4f})" if gap >= 0.002 else f"no gap ({gap:+.4f})"

    for level, idonly, text, bridge in LEVELS:
        for dataset, target in results.groupby(["dataset", "target"], sort=False).size().index:
            get = {(s, m): mean.get((dataset, target, s, m), float("nan"))
                   for s in ("predefined", "thin-bridge") for m in (idonly, text, bridge)}
            id_full, id_thin = get["predefined", idonly], get["thin-bridge", idonly]
            full, thin, bridged = get["predefined", text], get["thin-bridge", text], get["thin-bridge", bridge]
            if np.isnan(id_thin) and np.isnan(thin):
                continue
            lines.append(f"| {level} | {dataset} | {target} | {id_full:.4f} / {id_thin:.4f} | {thin:.4f} | "
                         f"{share(thin - id_thin, id_full - id_thin)} | {full:.4f} / {thin:.4f} | {bridged:.4f} | "
                         f"{share(bridged - thin, full - thin)} |")
    return lines


def write_report(results: pd.DataFrame, ranks: dict, args: argparse.Namespace, out: Path) -> None:
    runs = results.groupby("model")["seconds"].agg(["count", "sum"])
    head = [
        "# Item text in cdgraph: id-only against id + text", "",
        "Made by `benchmarks/bench_content.py` (see its docstring for the settings and models). Sampled "
        "1 + 999 test protocol of each dataset; NDCG@10, HR@10, MRR are means ± std over training seeds "
        "(splits drawn with seed 0). Every graph model: "
        f"{args.epochs} epochs, source_weight 1.0 (no search), patience none, defaults otherwise (dim 64, "
        "4 layers, lr 0.01, batch 8192).", "",
        f"Runs: {len(results)}, fit time {results['seconds'].sum() / 3600:.2f} core-hours (one thread); per "
        "model: " + ", ".join(f"{m} {int(r['count'])} runs / {r['sum'] / 60:.0f} min" for m, r in runs.iterrows())
        + ".", "", BUDGET_NOTE, "", "## Means over seeds", ""]
    body = [PROTOCOL_NOTE, ""] + means_table(results)
    body += ["## Paired tests", "",
             "A − B: mean over test rows of NDCG@10 (each row's value averaged over seeds). p (rows): one-sided "
             "Wilcoxon signed-rank test over test rows that A beats B; p (seeds): one-sided paired t-test over "
             "the (target, seed) means. Dataset scopes pool both targets' rows.", ""]
    body += tests_table(results, ranks)
    body += ["", "## The content bridge on a thin bridge", "",
             "NDCG@10 means. A share recovered is (thin with it − thin without) / (full − thin): text against the id-only "
             "model's gap, the content bridge against the text model's gap.",
             ""] + recovery_table(results)
    atomic_write_text(out / "content.md", "\n".join(head + body) + "\n")


PROTOCOL_NOTE = (
    "Settings: `predefined` (warm held-out users), `new-items` (20 % of the target's items without any training "
    "interaction; each held-out new item ranked against up to 999 other new items of the test half), `thin-bridge` "
    "(10 % of the shared users keep their source history). `cold-items` is the same split as `new-items` ranked "
    "against trained items only, the earlier protocol: a model that puts every new item above the trained ones wins "
    "it whichever new item it ranks first. `new in top-10`: share of new items in the test users' top-10 lists over "
    "the whole catalogue (a fifth of the catalogue is new; about 0.2 when new and trained items are treated alike; "
    "measured on the new-items rows, the cold-items rows predate it).")
BUDGET_NOTE = ("Only the runs listed below were made. The script's default design is 2 datasets x 2 targets "
               f"x 3 settings x {len(DEFAULT_MODELS)} models x 5 seeds; a cell missing below was not run, and a "
               "mean over one seed has no spread. The `graph model alone` rows are outside that design, run on "
               "request.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=os.environ.get("CDGRAPH_DATA"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=list(DATASETS))
    parser.add_argument("--targets", nargs="+", default=None, help="target domains (default: every domain)")
    parser.add_argument("--settings", nargs="+", default=DESIGN_SETTINGS, choices=SETTINGS)
    parser.add_argument("--models", nargs="+", default=DEFAULT_MODELS, choices=list(MODELS))
    parser.add_argument("--bridge-everywhere", action="store_true", help="run 'bridge' on every setting")
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument("--out", default=str(OUT), help="folder of content.csv, content.ranks.jsonl, content.md")
    args = parser.parse_args()
    torch.set_num_threads(1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    csv, ranks_path = out / "content.csv", out / "content.ranks.jsonl"
    done = pd.read_csv(csv) if csv.exists() else pd.DataFrame(columns=KEYS)
    ranks = read_ranks(ranks_path)
    for dataset in [] if args.report_only else args.datasets:
        data = cdgraph.datasets.load(dataset, root=args.root)
        for target in [t for t in DATASETS[dataset] if args.targets is None or t in args.targets]:
            for setting in args.settings:
                split = make_split(data, target, setting)
                for seed in args.seeds:
                    for model in args.models:
                        key = (dataset, target, setting, model, seed)
                        if model in THIN_ONLY and setting != "thin-bridge" and not args.bridge_everywhere:
                            continue
                        if key in finished(done) and key in ranks:
                            continue
                        row, rank = run_one(data, split, dataset, target, setting, model, seed, args.epochs)
                        print(json.dumps(row), flush=True)
                        with open(ranks_path, "a") as fh:
                            fh.write(json.dumps({"key": list(key), "ranks": rank}) + "\n")
                        ranks[key] = np.asarray(rank)
                        # re-read: another run of this script may have added rows meanwhile
                        done = pd.read_csv(csv) if csv.exists() else done
                        ranks = {**read_ranks(ranks_path), **ranks}
                        done = pd.concat([frame for frame in (done, pd.DataFrame([row])) if len(frame)],
                                         ignore_index=True).drop_duplicates(KEYS, keep="last")
                        atomic_write_text(csv, done.to_csv(index=False))
                        write_report(done, ranks, args, out)
    if len(done):
        write_report(done, ranks, args, out)
        print((out / "content.md").read_text())


if __name__ == "__main__":
    main()
