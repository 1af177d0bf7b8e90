"""Mini-batch (neighbour-sampling) training against full-batch: epoch time, peak memory, quality.

Each case runs in a fresh process so that its peak RSS (``VmHWM``) is its own:

* ``10m``: the 10M-interaction synthetic graph of ``bench_speed.py`` (500k users,
  2 x 250k items, 2 x 5M interactions): one full mini-batch training epoch, timed,
  with peak RSS, and the full-batch memory estimate for the same model
  (:func:`cdgraph.train.memory.estimate_full_batch`) next to it;
* ``1m``: the same at 1M interactions, where full-batch training is also run for one
  epoch, so that its measured peak can be set against the estimate;
* ``sport-cloth``: quality on a real pair: full-batch and mini-batch LightGCN (joint
  graph, the default model with a fixed source weight) trained with the same budget,
  NDCG@10 on the 1 + 999 sampled protocol.

    python benchmarks/bench_minibatch.py            # all cases, writes results/minibatch.{json,md}

Run with ``OMP_NUM_THREADS=1`` on a shared machine (the script sets one torch thread).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time

from cdgraph.io.atomic import atomic_write_text

HERE = os.path.dirname(os.path.abspath(__file__))
SYNTHETIC = {"1m": (50_000, 25_000, 500_000), "10m": (500_000, 250_000, 5_000_000)}
LAYERS, DIM, BATCH = 3, 64, 8192
FANOUTS = [10, 5, 5]


def _status_mib(key: str) -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _reset_peak() -> None:
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        pass


def run_case(case: str, mode: str, epochs: int, root: str | None) -> dict:
    import torch
    torch.set_num_threads(1)
    import cdgraph
    from cdgraph import datasets
    from cdgraph.train.memory import estimate_full_batch

    started = time.perf_counter()
    if case in SYNTHETIC:
        users, items, per_domain = SYNTHETIC[case]
        data = datasets.synthetic(num_users=users, items_per_domain=items,
                                  interactions_per_domain=per_domain, seed=0)
        split = cdgraph.data.split.leave_one_out(data, "b", seed=0, valid=False)
    else:
        data = datasets.load("amazon-sport-cloth", root=root, download=False)
        split = cdgraph.data.split.predefined(data, "cloth")
    load_s = time.perf_counter() - started
    model = cdgraph.GraphRecommender(split.target, layers=LAYERS, dim=DIM, source_weight=1.0)
    rss_before = _status_mib("VmRSS")
    _reset_peak()
    neighbors = FANOUTS if mode == "minibatch" else None
    fit = dict(epochs=epochs, batch_size=BATCH, lr=0.01, seed=0, progress=False, neighbors=neighbors)
    if case not in SYNTHETIC:
        fit.update(valid_protocol="sampled", valid_negatives=999, patience=10)
    started, cpu = time.perf_counter(), time.process_time()
    model.fit(split, **fit)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    out = {"case": case, "mode": mode, "epochs": epochs, "layers": LAYERS, "dim": DIM, "batch": BATCH,
           "neighbors": neighbors, "train_interactions": int(sum(len(f) for f in split.train.values())),
           "nodes": int(data.num_users + sum(data.num_items(d) for d in data.domains)),
           "load_seconds": round(load_s, 1), "fit_seconds": round(seconds, 1),
           "fit_cpu_seconds": round(cpu, 1), "load_average": [round(x, 2) for x in os.getloadavg()],
           "train_seconds_per_epoch": round(float(model.history_["train_seconds"].mean()), 1),
           "rss_before_mib": round(rss_before, 0), "peak_rss_mib": round(_status_mib("VmHWM"), 0)}
    out["peak_growth_mib"] = out["peak_rss_mib"] - out["rss_before_mib"]
    est = estimate_full_batch(model.ctx_, model.network_, BATCH, len(data.domains))
    out["full_batch_estimate_mib"] = {k: round(v / 2**20) for k, v in est.items()}
    if case not in SYNTHETIC:
        out["epochs_run"] = len(model.history_)
        out["NDCG@10"] = model.evaluate(split, protocol="sampled", num_negatives=999, k=(10,), seed=0)["NDCG@10"]
    return out


def table(rows: list[dict]) -> str:
    lines = ["| case | mode | train interactions | epochs | train s / epoch | fit CPU s | peak RSS MiB "
             "| growth MiB | full-batch estimate MiB | NDCG@10 |", "|---" * 10 + "|"]
    for r in rows:
        lines.append(f"| {r['case']} | {r['mode']}{' ' + str(r['neighbors']) if r['neighbors'] else ''} "
                     f"| {r['train_interactions']:,} | {r.get('epochs_run', r['epochs'])} "
                     f"| {r['train_seconds_per_epoch']} | {r.get('fit_cpu_seconds', '-')} | {r['peak_rss_mib']:.0f} | {r['peak_growth_mib']:.0f} "
                     f"| {r['full_batch_estimate_mib']['total']:,} | {r.get('NDCG@10', '')!s:.6} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="+", default=["1m:full", "1m:minibatch", "10m:minibatch",
                                                       "sport-cloth:full", "sport-cloth:minibatch"])
    parser.add_argument("--root", default=os.environ.get("CDGRAPH_DATA"))
    parser.add_argument("--epochs", type=int, default=1, help="epochs of the synthetic cases")
    parser.add_argument("--real-epochs", type=int, default=30)
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--out", default=os.path.join(HERE, "results", "minibatch"))
    args = parser.parse_args()
    if args.one:  # child process: one case
        case, mode = args.one.split(":")
        epochs = args.epochs if case in SYNTHETIC else args.real_epochs
        print(json.dumps(run_case(case, mode, epochs, args.root)))
        return
    rows = []
    env = dict(os.environ, OMP_NUM_THREADS="1")
    for spec in args.cases:
        cmd = [sys.executable, __file__, "--one", spec, "--epochs", str(args.epochs),
               "--real-epochs", str(args.real_epochs)] + (["--root", args.root] if args.root else [])
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if proc.returncode:
            raise SystemExit(f"{spec} failed:\n{proc.stderr[-3000:]}")
        rows.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        print(json.dumps(rows[-1]), flush=True)
    import torch
    header = (f"# Mini-batch training with neighbour sampling\n\n"
              f"torch {torch.__version__}, {platform.processor() or platform.machine()}, one torch thread "
              f"per process (`OMP_NUM_THREADS=1`), each case in a fresh process. LightGCN on the joint "
              f"graph, {LAYERS} layers, dim {DIM}, batch {BATCH} target positives (+ as many source ones), "
              f"fixed source weight 1; mini-batch mode samples fanouts {FANOUTS} per hop "
              f"(`fit(..., neighbors={FANOUTS})`). Peak RSS is the process's `VmHWM` from the start of "
              f"`fit` (data loaded before); growth = peak minus RSS before `fit`. The full-batch estimate is "
              f"`cdgraph.train.memory.estimate_full_batch` for the same model, the number `fit` checks against "
              f"free memory before full-batch training. Made by `python benchmarks/bench_minibatch.py`.\n\n")
    md = header + table(rows) + "\n"
    atomic_write_text(args.out + ".md", md)
    atomic_write_text(args.out + ".json", json.dumps(rows, indent=1))
    print(md)


if __name__ == "__main__":
    main()
