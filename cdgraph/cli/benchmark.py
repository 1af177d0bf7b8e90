"""``cdgraph benchmark``: the resumable methods x tasks x seeds grid (see :mod:`cdgraph.benchmark`)."""
from __future__ import annotations

import argparse
import os

import pandas as pd

from cdgraph.benchmark import TASKS, GridConfig, estimate, merge_results, run_grid, write_reports
from cdgraph.benchmark.runner import human_duration
from cdgraph.cli.config import CLIError
from cdgraph.models import available_models


def benchmark(args: argparse.Namespace) -> int:
    if args.list:
        print("tasks:")
        for name, task in TASKS.items():
            print(f"  {name:18s} {task.describe()}")
        print("methods:\n  " + " ".join(available_models()))
        return 0
    flags = {"tasks": args.tasks, "methods": args.methods, "seeds": args.seeds, "epochs": args.epochs,
             "out": args.out, "root": args.root or os.environ.get("CDGRAPH_DATA")}
    if args.config:
        config = GridConfig.from_toml(args.config, **flags)
    else:
        if not args.tasks or not args.methods:
            raise CLIError("Give --tasks and --methods (see 'cdgraph benchmark --list'), or --config FILE.")
        config = GridConfig(**{k: v for k, v in flags.items() if v is not None})
    missing = [m for m in args.merge or [] if not os.path.isfile(m)]
    if missing:
        raise CLIError(f"--merge: no such results file {missing[0]!r}.")
    if args.jobs < 1:
        raise CLIError(f"--jobs must be at least 1, got {args.jobs}.")
    if args.estimate:
        print(_estimate(config, args))
        return 0
    if args.report_only:
        merge_results(os.path.join(config.out, "results.csv"), args.merge or [])
        paths = write_reports(config)
        if not paths:
            raise CLIError(f"No results for these tasks and methods in {config.out!r} yet.")
        print("\n".join(str(p) for p in paths.values()))
        return 0
    run_grid(config, echo=lambda line: print(line, flush=True), merge=args.merge or [], jobs=args.jobs)
    print(f"results: {os.path.join(config.out, 'results.md')}")
    return 0


def _estimate(config, args: argparse.Namespace) -> str:
    """``--estimate``: how long the runs to go would take, from the given results files."""
    missing = [m for m in args.estimate if not os.path.isfile(m)]
    if missing:
        raise CLIError(f"--estimate: no such results file {missing[0]!r}.")
    merge_results(os.path.join(config.out, "results.csv"), args.merge or [])
    timings = pd.concat([pd.read_csv(f) for f in args.estimate], ignore_index=True)
    if not {"task", "method", "seconds"} <= set(timings.columns):
        raise CLIError("--estimate: the files need task, method and seconds columns (a results.csv "
                       "of cdgraph benchmark).")
    e = estimate(config, timings, args.jobs)
    lines = [f"{e['runs']} runs to go in {config.out!r}; {e['estimated']} of them have the mean fit "
             f"seconds of their task and method in {', '.join(args.estimate)}:",
             f"  {e['core_seconds']:.0f} s = {e['core_seconds'] / 3600:.2f} core-hours of fit time, "
             f"about {human_duration(e['wall_seconds'])} with --jobs {args.jobs} (at the speed and "
             f"threads per run those rows were measured with; evaluation and loading not counted)"]
    if e["missing"]:
        lines.append("  no timing for: " + ", ".join(f"{t} {m}" for t, m in e["missing"]))
    return "\n".join(lines)


def add_parser(sub: argparse._SubParsersAction, verbose) -> None:
    p = sub.add_parser(
        "benchmark", help="methods x tasks x seeds on the public datasets (resumable)",
        description="Train and evaluate every method on every task with every seed, appending one "
                    "row per run to OUT/results.csv; a rerun skips finished runs. Writes results.md "
                    "(mean ± std, best baseline marked, paired t-tests), summary.md and results.png. "
                    "A TOML file with a [benchmark] table (tasks, methods, seeds, epochs, task_epochs, "
                    "fit, reference, out, root, notes) sets everything; flags override it.")
    p.add_argument("--config", metavar="FILE", help="TOML file with a [benchmark] table")
    p.add_argument("--tasks", nargs="+", metavar="TASK", help="task names (see --list)")
    p.add_argument("--methods", nargs="+", metavar="NAME", help="method names (see --list)")
    p.add_argument("--seeds", nargs="+", type=int, metavar="N", help="seeds (default: 0 1 2 3 4)")
    p.add_argument("--epochs", type=int, metavar="N", help="epoch budget of every method (default: 30)")
    p.add_argument("--out", metavar="DIR", help="output folder (default: benchmark-results)")
    p.add_argument("--root", metavar="DIR", help="dataset root (default: $CDGRAPH_DATA or the cache)")
    p.add_argument("--merge", nargs="+", metavar="CSV", help="fold these results.csv files (e.g. of "
                   "grids run side by side) into OUT/results.csv first")
    p.add_argument("--jobs", type=int, default=1, metavar="N", help="runs at a time, each in its own "
                   "process with cores/N torch threads (default: 1)")
    p.add_argument("--estimate", nargs="+", metavar="CSV", help="print how long the runs to go "
                   "would take, from the fit seconds of the same task and method in these results.csv "
                   "files (e.g. an earlier grid's), training nothing")
    p.add_argument("--report-only", action="store_true", help="rewrite the reports from results.csv "
                   "(after folding in --merge), training nothing")
    p.add_argument("--list", action="store_true", help="list the tasks and methods, then exit")
    verbose(p)
    p.set_defaults(func=benchmark)
