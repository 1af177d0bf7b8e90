"""Tables and plots of benchmark results: mean ± std over seeds, best baseline, paired tests."""
from __future__ import annotations

import os
from typing import Iterable

import numpy as np
import pandas as pd

from cdgraph.io.atomic import atomic_write
from cdgraph.evaluation import paired_test
from cdgraph.benchmark.tasks import get_task

WARM_COLUMNS = ["NDCG@10", "HR@10", "MRR", "Recall@20", "NDCG@20"]
COLD_COLUMNS = ["MRR", "NDCG@5", "NDCG@10", "HR@1", "HR@5", "HR@10", "Recall@20", "NDCG@20"]


def _cell(values: pd.Series) -> str:
    std = values.std(ddof=1) if len(values) > 1 else 0.0
    return f"{values.mean():.4f} ± {std:.4f}"


def best_baseline(rows: pd.DataFrame, metric: str, reference: Iterable[str]) -> str | None:
    """The method, other than the ``reference`` ones, with the highest mean ``metric``."""
    others = rows[~rows["method"].isin(list(reference))]
    if others.empty:
        return None
    return others.groupby("method")[metric].mean().idxmax()


def compare(rows: pd.DataFrame, method: str, against: str, metric: str) -> dict[str, float] | None:
    """One-sided paired t-test over the seeds both ran: does ``method`` beat ``against``?"""
    a = rows[rows["method"] == method].set_index("seed")[metric]
    b = rows[rows["method"] == against].set_index("seed")[metric]
    seeds = a.index.intersection(b.index)
    if len(seeds) < 2:
        return None
    return paired_test(a[seeds].to_numpy(), b[seeds].to_numpy(), alternative="greater")


def table(results: pd.DataFrame, reference: Iterable[str] = ("cdgraph",),
          notes: dict[str, str] | None = None) -> str:
    """Markdown: one table per task, methods as rows, mean ± std over seeds.

    The best baseline (the best method other than ``reference`` by the task's metric)
    is marked; every other method gets a one-sided paired t-test against it.
    """
    reference = list(reference)
    lines: list[str] = []
    for task_name, rows in results.groupby("task", sort=False):
        task = get_task(task_name)
        metric = task.metric
        columns = [c for c in (COLD_COLUMNS if task.cold else WARM_COLUMNS) if c in rows]
        best = best_baseline(rows, metric, reference)
        budget = ", ".join(str(int(b)) for b in sorted(rows["epochs_budget"].unique()))
        lines += [f"### {task_name}: {task.describe()}; epoch budget {budget}", "",
                  f"Selected and compared on {metric} (sampled, test). Recall@20 / NDCG@20: full ranking."
                  + (" Test users are all cold in the target domain." if task.cold else ""), ""]
        lines.append("| method | seeds | " + " | ".join(columns) + f" | p vs best baseline ({metric}) | s / run |")
        lines.append("|---" * (len(columns) + 4) + "|")
        order = rows.groupby("method", sort=False)[metric].mean().sort_values(ascending=False).index
        for method in order:
            grp = rows[rows["method"] == method]
            p = ""
            if best is not None and method != best:
                test = compare(rows, method, best, metric)
                if test is not None:
                    p = f"{test['p']:.2g} ({test['mean_diff']:+.4f})"
            label = f"**{method}** (best baseline)" if method == best else method
            note = (notes or {}).get(method)
            if note:
                label += f" [{note}]"
            lines.append(f"| {label} | {len(grp)} | " + " | ".join(_cell(grp[c]) for c in columns)
                         + f" | {p} | {grp['seconds'].mean():.0f} |")
        lines.append("")
    return "\n".join(lines)


def summary(results: pd.DataFrame, reference: str = "cdgraph", alpha: float = 0.05) -> pd.DataFrame:
    """Per task: ``reference`` against the best other method, with the p-value and a verdict,
    and against every other method: how many it beats (higher mean, one-sided paired
    p < ``alpha`` over the seeds both ran) and which it does not."""
    out = []
    for task_name, rows in results.groupby("task", sort=False):
        metric = get_task(task_name).metric
        if reference not in set(rows["method"]):
            continue
        best = best_baseline(rows, metric, [reference])
        mine = rows[rows["method"] == reference][metric].mean()
        beaten, unbeaten = [], []
        verdict: dict[str, tuple[bool, float]] = {}
        for other in dict.fromkeys(rows["method"]):
            if other == reference:
                continue
            test = compare(rows, reference, other, metric)
            p = np.nan if test is None else test["p"]
            wins = bool(mine > rows[rows["method"] == other][metric].mean() and p < alpha)
            verdict[other] = (wins, p)
            (beaten if wins else unbeaten).append(other)
        theirs = rows[rows["method"] == best][metric].mean() if best else np.nan
        wins, p = verdict.get(best, (False, np.nan))
        out.append({"task": task_name, "metric": metric,
                    "seeds": int((rows["method"] == reference).sum()), reference: mine,
                    "best other": best, "its mean": theirs, "p": p, "wins": wins,
                    "beats": f"{len(beaten)}/{len(beaten) + len(unbeaten)}",
                    "not beaten at p < 0.05": ", ".join(unbeaten) or "-"})
    return pd.DataFrame(out)


def plot(results: pd.DataFrame, path: str | os.PathLike) -> bool:
    """Bar chart of each task's metric (mean, std error bars), one panel per task.

    Returns False (and writes nothing) when matplotlib is not installed (``pip install
    "cdgraph[plot]"``).
    """
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    tasks = list(dict.fromkeys(results["task"]))
    cols = min(2, len(tasks))
    rows_n = int(np.ceil(len(tasks) / cols))
    fig, axes = plt.subplots(rows_n, cols, figsize=(6.5 * cols, 3.2 * rows_n), squeeze=False)
    for ax, task_name in zip(axes.ravel(), tasks):
        metric = get_task(task_name).metric
        rows = results[results["task"] == task_name]
        stats = rows.groupby("method")[metric].agg(["mean", "std"]).sort_values("mean")
        ax.barh(stats.index, stats["mean"], xerr=stats["std"].fillna(0), color="#4c72b0", alpha=0.85)
        ax.set_title(f"{task_name} ({metric})", fontsize=10)
        ax.tick_params(labelsize=8)
    for ax in axes.ravel()[len(tasks):]:
        ax.axis("off")
    fig.tight_layout()
    atomic_write(path, lambda fh: fig.savefig(fh, format="png", dpi=110))
    plt.close(fig)
    return True
