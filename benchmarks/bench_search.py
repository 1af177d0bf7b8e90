"""What the source-weight search needs to see: every candidate's validation curve, and what
cheaper searches would have chosen from them (issue #22, item 1).

``source_weight="auto"`` (the default of ``graph`` and ``cdgraph``) used to train each of the
five candidate weights ``(0.25, 0.5, 1.0, 2.0, 3.0)`` for half the epochs, keep the best by
validation and continue it: three fits' worth of epochs before the mix's parts. From these
results the default became ``halving 33%→100%`` below, then the two ends alone
(``source_weights=(0.25, 3.0)``, each to half: ``ends 0.25 & 3.0``), then the two ends for an
eighth of the epochs each (``ends, 1/8 each``). This records, on the grid's
protocol (``benchmarks/grid.toml``'s epochs and training options, validation every epoch on
the task's metric), each candidate's validation curve over that half, then replays cheaper schedules on
the curves:

* ``short r``: every candidate for ``r`` epochs (validated every epoch), the best continued;
* ``halving r→s``: every candidate for ``r`` epochs, the best two continued to ``s``, the
  better of those continued (successive halving, Jamieson & Talwalkar, AISTATS 2016;
  ``search_halving=r, search_epochs=s``);
* ``ends 0.25 & 3.0``: only the two ends of the range, each for half the epochs (the default
  once the curves showed the score monotone or flat in the weight);
* ``ends, 1/n each``: the two ends, each for ``ceil(epochs / n)`` epochs and validated once at
  the end of that run (``search_epochs``), the winner continued; ``1/8`` is the default
  (``search_epochs="auto"``).

A schedule's winner is compared with the full search's; where they agree the final model is
the same run (a continued loop resumes exactly), so its test metric is unchanged. Cost is in
epochs of training before the mix, against one joint fit of the full budget (patience ignored).

    OMP_NUM_THREADS=1 CDGRAPH_DATA=../shared/data python benchmarks/bench_search.py \
        [--tasks ...] [--seeds 0] [--report-only]

Curves are appended to ``results/search.jsonl`` (finished ones skipped); ``results/search.md``
is rewritten after each task.

``--confirm TASK ...`` fits, in one process and in turn, ``cdgraph`` with the full search
(``search_halving=None``), ``cdgraph`` with its default ``search_halving="auto"`` and
``lightgcn-joint`` on the grid's protocol (:func:`cdgraph.benchmark.runner.run_one`), appending to ``results/search_confirm.jsonl``: the
seconds of each fit and their test metrics (equal metrics: the same weight was chosen and the
same run continued).
"""
from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np

from cdgraph import TrainConfig, datasets
from cdgraph.benchmark.runner import GridConfig, run_one
from cdgraph.benchmark.tasks import TASKS, get_task
from cdgraph.data.split import SPLITS
from cdgraph.io.atomic import atomic_write_text
from cdgraph.models.graph import GraphRecommender

HERE = Path(__file__).resolve().parent
OUT = HERE / "results"
GRID = GridConfig.from_toml(HERE / "grid.toml")  # the grid's epochs and training options

WEIGHTS = (0.25, 0.5, 1.0, 2.0, 3.0)  # every candidate's curve is recorded; the default tries the ends
ENDS = ("0.25", "3.0")
SHORT = (0.1, 0.2, 0.33)  # short and halving first rungs, as fractions of the half budget
ENDS_SHORT = (10, 8)  # the ends, each for a tenth or an eighth of the epochs (the default: an eighth)


def curves(task_name: str, seed: int, root: str | None) -> dict:
    """Each candidate's per-epoch validation scores over half the task's epochs."""
    task = get_task(task_name)
    data = datasets.load(task.dataset, root=root)
    split = SPLITS.get(task.split)(data, task.target)
    half = GRID.epochs_for(task_name) // 2
    out = {"task": task_name, "seed": seed, "half": half, "metric": task.metric, "curves": {}, "seconds": {}}
    for weight in WEIGHTS:
        config = TrainConfig(valid_metric=task.metric, **GRID.fit, epochs=half,
                             seed=seed, valid_protocol="sampled", valid_negatives=task.num_negatives,
                             progress=False, source_weight=weight)
        model = GraphRecommender(task.target).fit(split, config)
        history = model.history_
        out["curves"][str(weight)] = [float(v) for v in history[f"valid/{task.metric}"]]
        out["seconds"][str(weight)] = float(history["train_seconds"].sum() + history["valid_seconds"].sum())
    return out


def best_until(curve: list[float], epochs: int) -> float:
    """The best validation score within the first ``epochs`` (what a loop of that length keeps)."""
    return max(curve[:max(1, epochs)])


def pick(scores: dict[str, float]) -> str:
    """The search's winner: the highest score, the first candidate on ties."""
    return max(scores, key=lambda w: (scores[w], -list(scores).index(w)))


def replay(row: dict) -> dict[str, tuple[str, int]]:
    """Per schedule (named by its lengths as shares of half the budget): its winner and its
    epochs of training before the mix (the winner's continuation to the full budget included)."""
    half, cs = row["half"], row["curves"]
    full = 2 * half
    out = {"full search": (pick({w: best_until(c, half) for w, c in cs.items()}), len(cs) * half + half)}
    for fraction in SHORT:
        r = max(1, round(fraction * half))
        first = {w: best_until(c, r) for w, c in cs.items()}
        out[f"short {fraction:.0%}"] = (pick(first), len(cs) * r + (full - r))
        two = sorted(first, key=lambda w: (-first[w], list(cs).index(w)))[:2]
        for share in (2 * fraction, 0.5, 1.0):
            until = max(r + 1, round(share * half))
            out[f"halving {fraction:.0%}→{share:.0%}"] = (pick({w: best_until(cs[w], until) for w in two}),
                                                          len(cs) * r + 2 * (until - r) + (full - until))
    out["ends 0.25 & 3.0"] = (pick({w: best_until(cs[w], half) for w in ENDS}), len(ENDS) * half + half)
    for share in ENDS_SHORT:  # each end validated once, at the end of its short run
        r = -(-full // share)
        out[f"ends, 1/{share} each"] = (pick({w: cs[w][r - 1] for w in ENDS}), len(ENDS) * r + (full - r))
    return out


def report(rows: list[dict], confirmed: list[dict] = ()) -> str:
    lines = ["# The source-weight search, replayed", "",
             "Written by `benchmarks/bench_search.py` (see its docstring). Per task and seed, the full "
             "search's winner and each cheaper schedule's (lengths as shares of half the epochs: `halving 10%→50%` "
             "trains every candidate a tenth of the half, the best two to a half of the half; `ends, 1/8 "
             "each`: the two ends, each an eighth of all the epochs and validated once at its end, the "
             "default); `=` where it "
             "agrees with the full search. "
             "`epochs / fit`: training epochs before the mix divided by one fit's budget (mean over rows); "
             "`worst validation loss`: the largest drop, over rows, of the chosen candidate's best validation "
             "score within half the epochs below the full search's winner's (`mean`: its mean over rows).", ""]
    schedules = list(replay(rows[0]))
    lines += ["| task | seed | " + " | ".join(schedules) + " |", "|---" * (2 + len(schedules)) + "|"]
    agree = {s: 0 for s in schedules}
    cost = {s: [] for s in schedules}
    regret = {s: [] for s in schedules}
    for row in rows:
        got = replay(row)
        best = got["full search"][0]
        cells = []
        for s in schedules:
            winner, epochs = got[s]
            agree[s] += winner == best
            cost[s].append(epochs / (2 * row["half"]))
            regret[s].append(max(row["curves"][best]) - max(row["curves"][winner]))
            cells.append(winner if s == "full search" else ("=" if winner == best else winner))
        lines.append(f"| {row['task']} | {row['seed']} | " + " | ".join(cells) + " |")
    lines.append("| agrees | | " + " | ".join(f"{agree[s]} of {len(rows)}" for s in schedules) + " |")
    lines.append("| epochs / fit | | " + " | ".join(f"{np.mean(cost[s]):.2f}" for s in schedules) + " |")
    lines.append("| worst validation loss | | " + " | ".join(f"{max(regret[s]):.4f}" for s in schedules) + " |")
    lines.append("| mean validation loss | | " + " | ".join(f"{np.mean(regret[s]):.4f}" for s in schedules) + " |")
    lines += ["", "Validation score each candidate reached within half the epochs:", "",
              "| task | seed | " + " | ".join(str(w) for w in WEIGHTS) + " |", "|---" * (2 + len(WEIGHTS)) + "|"]
    for row in rows:
        lines.append(f"| {row['task']} | {row['seed']} | " + " | ".join(
            f"{max(row['curves'][str(w)]):.4f}" for w in WEIGHTS) + " |")
    if confirmed:
        lines += confirm_table(list(confirmed))
    return "\n".join(lines) + "\n"


# the five candidates pinned: "(default)" is the label the committed rows were written with,
# when halving over the five was the default
CONFIRM = {"cdgraph full search": ("cdgraph", {"search_halving": None, "source_weights": WEIGHTS}),
           "cdgraph halving (default)": ("cdgraph", {"search_halving": "auto", "source_weights": WEIGHTS}),
           "lightgcn-joint": ("lightgcn-joint", {})}


def confirm(task: str, seed: int, root: str | None) -> list[dict]:
    """The best model with and without halving, and the joint LightGCN, fitted in turn."""
    rows = []
    for label, (method, extra) in CONFIRM.items():
        row = run_one(task, method, seed, GRID.epochs_for(task), {**GRID.fit, **extra}, root)
        rows.append({"label": label, **{k: row.get(k) for k in ("task", "seed", "seconds", "epochs_run", "MRR",
                                                                 "NDCG@10", "source_weight")}})
    return rows


def confirm_table(rows: list[dict]) -> list[str]:
    frame = {(r["task"], r["seed"], r["label"]): r for r in rows}
    lines = ["", "## Real fits: the best model with and without halving, against one joint fit", "",
             "From `--confirm` (one process, fits in turn, other jobs on the machine). Test metric: the task's "
             "(MRR on cold-start tasks, else NDCG@10).", "",
             "| task | seed | joint s | full search s (÷ joint) | halving s (÷ joint) | weight: full / halving | "
             "metric: full / halving |", "|---" * 7 + "|"]
    for task, seed in sorted({(r["task"], r["seed"]) for r in rows}):
        got = [frame.get((task, seed, label)) for label in CONFIRM]
        if None in got:
            continue
        full, half, joint = got
        metric = get_task(task).metric
        lines.append(f"| {task} | {seed} | {joint['seconds']:.0f} | {full['seconds']:.0f} "
                     f"({full['seconds'] / joint['seconds']:.2f}) | {half['seconds']:.0f} "
                     f"({half['seconds'] / joint['seconds']:.2f}) | {full['source_weight']} / "
                     f"{half['source_weight']} | {full[metric]:.4f} / {half[metric]:.4f} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=list(TASKS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--root", default=os.environ.get("CDGRAPH_DATA"))
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument("--confirm", nargs="+", default=[], choices=list(TASKS), metavar="TASK")
    args = parser.parse_args()
    path, confirm_path = OUT / "search.jsonl", OUT / "search_confirm.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
    confirmed = ([json.loads(line) for line in confirm_path.read_text().splitlines()]
                 if confirm_path.exists() else [])
    for task in args.confirm:
        for seed in args.seeds:
            if not any(r["task"] == task and r["seed"] == seed for r in confirmed):
                confirmed += confirm(task, seed, args.root)
                atomic_write_text(confirm_path, "".join(json.dumps(r) + "\n" for r in confirmed))
    if args.confirm:
        args.report_only = True
    for seed in [] if args.report_only else args.seeds:
        for task in args.tasks:
            if any(r["task"] == task and r["seed"] == seed for r in rows):
                continue
            rows.append(curves(task, seed, args.root))
            print(json.dumps({k: v for k, v in rows[-1].items() if k != "curves"}), flush=True)
            atomic_write_text(path, "".join(json.dumps(r) + "\n" for r in rows))
            atomic_write_text(OUT / "search.md", report(rows))
    if rows:
        atomic_write_text(OUT / "search.md", report(rows, confirmed))
        print((OUT / "search.md").read_text())


if __name__ == "__main__":
    main()
