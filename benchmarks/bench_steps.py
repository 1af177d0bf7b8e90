"""Whole training epochs as the graph grows, with and without ``max_steps``, and what the cap costs.

An epoch of full-batch training propagates the whole graph at every step, and at a fixed batch
size the steps grow with the interactions: the epoch grows with their square.
``TrainConfig.max_steps`` caps the steps of an epoch; a larger graph's batch grows instead, and
the learning rate by the square root of that growth (:func:`cdgraph.train.batches.step_size`).

Two parts, each case in a fresh process with ``--threads`` torch threads (default 1):

* **epochs**: two real training epochs (``fit(..., epochs=2)``: batch sampling and steps, the
  history's ``train_seconds``; the second, past the first's warm-up, is the one fitted) of
  LightGCN on the joint graph (``lightgcn-joint``, 3 layers, dim 64, batch 8,192) on the
  synthetic graphs of ``bench_speed.py`` (100k, 1M, 10M interactions, the same mean degree),
  uncapped and with ``--max-steps``. The uncapped 10M epoch (about 560 steps) is not run:
  ``speed.md`` extrapolates it from its step time. The fitted exponent is the log-log
  least-squares slope of epoch seconds against interactions.
* **quality**: the same model fitted uncapped and with a tighter cap that makes the batch grow
  (``--quality-steps``), on the 1M synthetic graph (its planted preferences, leave-one-out,
  full ranking of the test users) and on Amazon Sport -> Cloth (the predefined split, 1 + 999
  sampled test protocol), over ``--seeds``.

    OMP_NUM_THREADS=1 python benchmarks/bench_steps.py [--max-steps 32] [--quality-steps 16 4]
        [--seeds 0 1 2] [--parts epochs quality]      # writes results/steps.{json,md}
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

# benchmarks/ is this script's folder, first on sys.path: the same graphs and helpers as bench_speed.py
from bench_speed import SYNTHETIC, _copy_bandwidth, _cpu_model, _fit_exponent

HERE = Path(__file__).resolve().parent
MODEL = {"layers": 3, "dim": 64}


def _split(case: str, root: str | None):
    import cdgraph
    from cdgraph import datasets

    if case in SYNTHETIC:
        users, items, per_domain = SYNTHETIC[case]
        data = datasets.synthetic(num_users=users, items_per_domain=items,
                                  interactions_per_domain=per_domain, seed=0)
        return cdgraph.data.split.leave_one_out(data, "b", seed=0), "full"
    data = datasets.load("amazon-sport-cloth", root=root, download=False)
    return cdgraph.data.split.predefined(data, "cloth"), "sampled"


def run_case(kind: str, case: str, max_steps: int | None, seed: int, epochs: int,
             root: str | None, threads: int = 1) -> dict[str, Any]:
    """One fit in this process: ``kind`` is ``epoch`` (one epoch, timed) or ``quality``."""
    import torch

    from cdgraph.models import make_model
    from cdgraph.train.batches import step_size
    from cdgraph.train.config import TrainConfig

    torch.set_num_threads(threads)
    started = time.perf_counter()
    split, protocol = _split(case, root)
    data_seconds = time.perf_counter() - started
    positives = len(split.train[split.target])
    config = TrainConfig(epochs=epochs if kind == "quality" else 2, max_steps=max_steps, seed=seed,
                         patience=None, progress=False, check_memory=kind == "quality",
                         eval_every=epochs if kind == "quality" else 1)
    batch, lr = step_size(config, positives)
    model = make_model("lightgcn-joint", split.target, **MODEL)
    if kind == "epoch":  # no validation: the epoch alone is timed
        split = dataclasses.replace(split, valid=split.valid.iloc[:0])
    model.fit(split, config=config)
    history = model.history_
    out = {"kind": kind, "case": case, "max_steps": max_steps, "seed": seed, "threads": threads,
           "epochs": config.epochs, "loadavg": [round(v, 2) for v in os.getloadavg()],
           "target_positives": positives,
           "train_interactions": int(sum(len(f) for f in split.train.values())),
           "steps_per_epoch": -(-positives // batch), "batch": batch, "lr": round(lr, 5),
           "data_seconds": round(data_seconds, 1),
           "epoch_seconds": [round(float(s), 2) for s in history["train_seconds"]]}
    if kind == "quality":
        res = model.evaluate(split, protocol=protocol, k=(10, 20), seed=0)
        out.update({k: float(v) for k, v in res.items()})
        out["protocol"] = protocol
    return out


def _child(args: argparse.Namespace, kind: str, case: str, max_steps: int | None, seed: int) -> dict:
    threads = str(args.threads)
    env = dict(os.environ, OMP_NUM_THREADS=threads, MKL_NUM_THREADS=threads)
    cmd = [sys.executable, __file__, "--case", kind, case, str(max_steps), str(seed),
           "--quality-epochs", str(args.quality_epochs), "--threads", threads]
    if args.root:
        cmd += ["--root", args.root]
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if proc.returncode:
        last = (proc.stderr.strip().splitlines() or [f"exit {proc.returncode}"])[-1]
        return {"kind": kind, "case": case, "max_steps": max_steps, "seed": seed, "threads": args.threads,
                "error": last}
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    res["process_seconds"] = round(time.perf_counter() - started, 1)
    return res


def _exponent(rows: list[dict]) -> float | None:
    rows = [r for r in rows if "epoch_seconds" in r]
    return _fit_exponent([r["train_interactions"] for r in rows], [r["epoch_seconds"][-1] for r in rows])


def _label(max_steps: int | None) -> str:
    return "uncapped" if max_steps is None else f"max_steps={max_steps}"


def _key(r: dict) -> tuple:
    return r["kind"], r["case"], r["max_steps"], r["seed"], r.get("threads", 1)


def epoch_table(results: list[dict]) -> list[str]:
    """Markdown lines: each measured epoch case, then the fitted exponent of each cap."""
    lines = ["| graph | train interactions | cap | threads | steps | batch | lr | first epoch s | "
             "second epoch s | load | run |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    epochs = [r for r in results if r["kind"] == "epoch"]
    for r in epochs:
        if "error" in r:
            lines.append(f"| {r['case']} | | {_label(r['max_steps'])} | {r.get('threads', 1)} | | | | "
                         f"failed: {r['error']} | | | {r.get('run', 0)} |")
            continue
        lines.append(f"| {r['case']} | {r['train_interactions']:,} | {_label(r['max_steps'])} | "
                     f"{r.get('threads', 1)} | {r['steps_per_epoch']} | {r['batch']:,} | {r['lr']} | "
                     f"{r['epoch_seconds'][0]:.1f} | {r['epoch_seconds'][-1]:.1f} | "
                     f"{r.get('loadavg', ['?'])[0]} | {r.get('run', 0)} |")
    lines += ["", "| cap | threads | graphs | fitted exponent of the second epoch's seconds |",
              "|---|---|---|---|"]
    for cap, threads in dict.fromkeys((r["max_steps"], r.get("threads", 1)) for r in epochs):
        rows = [r for r in epochs if (r["max_steps"], r.get("threads", 1)) == (cap, threads) and "error" not in r]
        slope = _exponent(rows)
        lines.append(f"| {_label(cap)} | {threads} | {', '.join(r['case'] for r in rows)} | "
                     f"{'-' if slope is None else slope} |")
    return lines


def quality_table(results: list[dict]) -> list[str]:
    """Markdown lines: NDCG@10 uncapped and capped per task, and the paired difference per seed."""
    quality = [r for r in results if r["kind"] == "quality" and "error" not in r]
    lines = ["| task | cap | steps | batch | lr | epochs | seeds | NDCG@10 | Recall@20 (full) or HR@20 "
             "(sampled) | epoch s | capped - uncapped NDCG@10, per seed |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for case, cap in dict.fromkeys((r["case"], r["max_steps"]) for r in quality):
        rows = [r for r in quality if (r["case"], r["max_steps"]) == (case, cap)]
        ndcg = [r["NDCG@10"] for r in rows]
        spread = f" ± {statistics.stdev(ndcg):.4f}" if len(ndcg) > 1 else ""
        base = {r["seed"]: r["NDCG@10"] for r in quality if r["case"] == case and r["max_steps"] is None}
        diffs = "" if cap is None else ", ".join(f"{r['NDCG@10'] - base[r['seed']]:+.4f}"
                                                  for r in rows if r["seed"] in base)
        lines.append(f"| {case} ({rows[0]['protocol']}) | {_label(cap)} | {rows[0]['steps_per_epoch']} | "
                     f"{rows[0]['batch']:,} | {rows[0]['lr']} | {rows[0]['epochs']} | {len(rows)} | "
                     f"{statistics.mean(ndcg):.4f}{spread} | "
                     f"{statistics.mean(r.get('Recall@20', r.get('HR@20', float('nan'))) for r in rows):.4f} | "
                     f"{statistics.mean(s for r in rows for s in r['epoch_seconds']):.1f} | {diffs} |")
    return lines + ["", "NDCG@10, Recall@20 and HR@20: means (± std) over training seeds; epoch s: mean seconds of "
                    "a training epoch (load as in the runs above)."]


def markdown(results: list[dict], runs: list[dict]) -> str:
    first = runs[0]
    lines = ["# Whole epochs as the graph grows, and the quality of a capped epoch", "",
             f"Made by `benchmarks/bench_steps.py`; torch {first['torch']}, Python {first['python']}, "
             f"{first['cpu']} ({first['cpus']} cores). Every case ran in a fresh process; a case re-run "
             "replaces its earlier row. Model: `lightgcn-joint` (LightGCN on the joint graph, 3 layers, "
             "dim 64, batch 8,192, lr 0.01, source weight 1). A capped epoch's batch is ceil(target "
             "positives / max_steps) and its learning rate 0.01 x sqrt(batch / 8,192). Load: the "
             "1-minute load average when the case ended (2 cores: above 2, other jobs shared them).", "",
             "Runs (the `run` column below):", ""]
    lines += [f"{i}. `{m['command']}`: {m['total_seconds'] / 60:.0f} min, load average {m['loadavg_start']} "
              f"at start, {m['loadavg_end']} at end" + (f"; copy bandwidth {m['copy_gb_s']} GB/s (one thread, "
                                                         "1 GiB clone)" if "copy_gb_s" in m else "")
              for i, m in enumerate(runs)]
    lines += ["", "## Training epochs (measured: `fit(epochs=2)`, sampling and steps; no validation)", ""]
    lines += epoch_table(results)
    if any(r["kind"] == "quality" for r in results):
        lines += ["", "## Quality: uncapped against capped, same seeds", ""] + quality_table(results)
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=os.environ.get("CDGRAPH_DATA"))
    parser.add_argument("--parts", nargs="+", default=["epochs", "quality"], choices=["epochs", "quality"])
    parser.add_argument("--sizes", nargs="+", default=list(SYNTHETIC), choices=list(SYNTHETIC))
    parser.add_argument("--max-steps", type=int, default=32, help="the cap of the epoch part")
    parser.add_argument("--quality-steps", type=int, nargs=2, default=[16, 4],
                        help="the caps of the quality part: on the 1M graph and on Sport -> Cloth")
    parser.add_argument("--quality-epochs", type=int, default=20)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--threads", type=int, default=1, help="torch threads of every case")
    parser.add_argument("--case", nargs=4, help="(internal) KIND CASE MAX_STEPS SEED: run one case, print JSON")
    args = parser.parse_args()
    if args.case:
        kind, case, cap, seed = args.case
        print(json.dumps(run_case(kind, case, None if cap == "None" else int(cap), int(seed),
                                  args.quality_epochs, args.root, args.threads)))
        return
    import torch

    from cdgraph.io.atomic import atomic_write_text

    out = HERE / "results"
    old = json.loads((out / "steps.json").read_text()) if (out / "steps.json").exists() else {"runs": []}
    if "meta" in old:  # a file of a single run
        old = {"runs": [old["meta"]], "results": old["results"]}
    meta = {"command": "python benchmarks/bench_steps.py " + " ".join(sys.argv[1:]),
            "python": platform.python_version(), "torch": torch.__version__, "cpus": os.cpu_count(),
            "cpu": _cpu_model(),
            "loadavg_start": [round(v, 2) for v in os.getloadavg()]}
    torch.set_num_threads(1)
    meta["copy_gb_s"] = round(_copy_bandwidth(), 2)  # machines of one kind differ: this says how fast this one was
    started, results = time.perf_counter(), []
    plan = []
    if "epochs" in args.parts:
        plan += [("epoch", size, cap, 0) for cap in (None, args.max_steps) for size in args.sizes
                 if not (cap is None and size == "10m")]
    if "quality" in args.parts:
        plan += [("quality", case, cap, seed) for case, tight in zip(("1m", "sport-cloth"), args.quality_steps)
                 for seed in args.seeds for cap in (None, tight)]
    for kind, case, cap, seed in plan:
        res = _child(args, kind, case, cap, seed)
        results.append(res)
        print(json.dumps({k: v for k, v in res.items() if k in (
            "kind", "case", "max_steps", "seed", "epoch_seconds", "NDCG@10", "error")}), flush=True)
    meta["loadavg_end"] = [round(v, 2) for v in os.getloadavg()]
    meta["total_seconds"] = round(time.perf_counter() - started, 1)
    # cases re-run replace their earlier rows; the others are kept, with the run that made them
    for r in results:
        r["run"] = len(old["runs"])
    kept = [r for r in old.get("results", []) if _key(r) not in {_key(n) for n in results}]
    merged = {"runs": [*old["runs"], meta], "results": kept + results}
    atomic_write_text(out / "steps.json", json.dumps(merged, indent=2))
    atomic_write_text(out / "steps.md", markdown(merged["results"], merged["runs"]))
    print(f"wrote {out / 'steps.md'}")


if __name__ == "__main__":
    main()
