"""Compare a re-run of part of the results grid with the committed rows: time and metrics.

After a change meant to make training faster without changing what it learns, re-run some
(task, method, seed) cells with ``cdgraph benchmark --config benchmarks/grid.toml --out DIR
...`` and compare them with the rows of ``results/grid/results.csv``: per method, the
``seconds`` (fit time) of both runs and their ratio, and the largest absolute difference of any
metric column; per task, the fit seconds and each task's share of the re-run's. Writes
``OUT/compare.md`` and ``OUT/compare.csv`` (one row per cell).

    python benchmarks/compare_grid.py NEW/results.csv [NEW2/results.csv ...] --out DIR \\
        [--wall SECONDS]

``--wall``: the wall-clock seconds the re-run took (from start to its last process's end),
quoted next to the summed ``seconds``.
"""
from __future__ import annotations

import argparse
import os

import pandas as pd

from cdgraph.io.atomic import atomic_write_text

HERE = os.path.dirname(os.path.abspath(__file__))
KEYS = ["task", "method", "seed"]
NOT_METRICS = {"seconds", "epochs_run", "epochs_budget", "source_weight", "bridge_weight",
               "target_only_weight"}


def compare(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """One row per cell of ``new`` that ``old`` also has: seconds of both and the largest
    absolute metric difference (NaN in both counts as equal), and whether the weights the
    method chose on validation are the same."""
    missing = new.merge(old[KEYS], on=KEYS, how="left", indicator=True)
    missing = missing[missing["_merge"] == "left_only"]
    if len(missing):
        raise ValueError(f"{len(missing)} re-run cell(s) are not in the committed grid, e.g. "
                         f"{missing[KEYS].iloc[0].to_dict()}; compare only cells it has.")
    both = new.merge(old, on=KEYS, suffixes=("", "_old"))
    metrics = [c for c in new.columns if c not in NOT_METRICS and c not in KEYS and c + "_old" in both]
    diffs = pd.concat([(both[c] - both[c + "_old"]).abs().fillna(0.0) for c in metrics], axis=1)
    out = both[KEYS + ["seconds_old", "seconds"]].copy()
    out["speedup"] = out["seconds_old"] / out["seconds"]
    out["max_metric_diff"] = diffs.max(axis=1)
    out["same_choice"] = True  # where both rows record a weight (older rows may lack a column)
    for col in ("source_weight", "bridge_weight", "target_only_weight"):
        if col in both and col + "_old" in both:
            a, b = both[col], both[col + "_old"]
            out["same_choice"] &= (a == b) | a.isna() | b.isna()
    return out


def markdown(table: pd.DataFrame, wall: float | None) -> str:
    per = table.groupby("method").agg(cells=("seconds", "size"), old_s=("seconds_old", "sum"),
                                      new_s=("seconds", "sum"), max_diff=("max_metric_diff", "max"))
    per["speedup"] = per["old_s"] / per["new_s"].where(per["new_s"] > 0)  # NaN: under 0.05 s
    per = per.sort_values("old_s", ascending=False)
    lines = ["# Re-run against the committed grid", "",
             "`seconds`: fit time of each cell (one thread); speedup = committed / re-run; "
             "max diff: largest absolute difference of any metric of any cell. Made by "
             "`benchmarks/compare_grid.py`.", "",
             "| method | cells | committed s | re-run s | speedup | max metric diff |",
             "|---|---|---|---|---|---|"]
    lines += [f"| {m} | {int(r.cells)} | {r.old_s:.0f} | {r.new_s:.0f} | {r.speedup:.2f} | {r.max_diff:.1e} |"
              for m, r in per.iterrows()]
    old, new = table["seconds_old"].sum(), table["seconds"].sum()
    lines += [f"| **all** | {len(table)} | {old:.0f} | {new:.0f} | {old / new:.2f} | "
              f"{table['max_metric_diff'].max():.1e} |", ""]
    tasks = table.groupby("task").agg(old_s=("seconds_old", "sum"), new_s=("seconds", "sum"))
    lines += ["| task | committed s | re-run s | share of re-run |", "|---|---|---|---|"]
    lines += [f"| {t} | {r.old_s:.0f} | {r.new_s:.0f} | {r.new_s / new:.0%} |"
              for t, r in tasks.sort_values("new_s", ascending=False).iterrows()]
    lines.append("")
    changed = table[~table["same_choice"]]
    lines.append(f"Cells whose chosen weights (source, bridge, target-only) differ: {len(changed)}.")
    if wall is not None:
        lines.append(f"Wall clock of the re-run: {wall:.0f} s ({wall / 3600:.2f} h) for "
                     f"{new / 3600:.2f} core-hours of fit time.")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("new", nargs="+", help="results.csv file(s) of the re-run")
    parser.add_argument("--old", default=os.path.join(HERE, "results", "grid", "results.csv"))
    parser.add_argument("--out", required=True)
    parser.add_argument("--wall", type=float, default=None)
    args = parser.parse_args(argv)
    new = pd.concat([pd.read_csv(p) for p in args.new], ignore_index=True)
    table = compare(pd.read_csv(args.old), new)
    os.makedirs(args.out, exist_ok=True)
    atomic_write_text(os.path.join(args.out, "compare.csv"), table.to_csv(index=False))
    atomic_write_text(os.path.join(args.out, "compare.md"), markdown(table, args.wall))
    print(markdown(table, args.wall))


if __name__ == "__main__":
    main()
