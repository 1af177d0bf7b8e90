"""Training and evaluation on a CUDA device: does every method run there, and how fast.

CI has no GPU, so this script is the check that ``TrainConfig(device="cuda")`` works. It runs,
in one process on a machine with a GPU:

1. **Every registered method for one epoch** on Douban Book -> Music (the grid's
   :func:`~cdgraph.benchmark.runner.run_one`, ``device="cuda"``): it fits, evaluates (sampled
   and full ranking) and the parameters live on the GPU. A failure is recorded with its
   traceback and the script goes on.
2. **Full fits timed, GPU against the same machine's CPU**: ``lightgcn-joint`` and
   ``cdgraph`` (the best model) on the grid's tasks ``sport-cloth`` and ``game-video-cold``,
   seed 0, the grid's budget; the CPU runs get ``--cpu-epochs`` epochs and their seconds per
   epoch are compared. The CUDA metrics are printed beside the committed CPU grid row (seed
   0): CUDA's sums run in another order, so they agree within noise, not bit for bit.
3. **Item content on the GPU**: ``GraphRecommender(content="auto", text_encoder="tfidf")`` on
   ``amazon-food-kitchen`` for a few epochs.
4. **Save on the GPU, load on the CPU**: the fitted model's file loads with
   ``map_location``-free ``weights_only`` reading and scores the same.

Writes ``cuda.json`` and ``cuda.md`` into ``--out`` (default ``benchmarks/results``)::

    CDGRAPH_DATA=../shared/data python benchmarks/bench_cuda.py [--out DIR] [--quick]
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import cdgraph  # noqa: E402
from cdgraph.benchmark.runner import run_one  # noqa: E402
from cdgraph.benchmark.tasks import get_task  # noqa: E402
from cdgraph.models import MODELS  # noqa: E402

SMOKE_TASK = "book-music"
#: where the "GPU" runs go; --device cpu checks the script itself on a machine without one
DEVICE = "cuda"
TIMED = [("sport-cloth", "lightgcn-joint"), ("sport-cloth", "cdgraph"),
         ("game-video-cold", "lightgcn-joint"), ("game-video-cold", "cdgraph")]


def _sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def _attempt(label: str, fn) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        out = fn()
        out = {"ok": True, **(out or {})}
    except Exception as exc:  # a report, not a test: keep going and say what broke
        out = {"ok": False, "error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()}
    _sync()
    out["wall_seconds"] = round(time.perf_counter() - started, 2)
    print(f"[{label}] {'ok' if out['ok'] else 'FAILED ' + out['error']} ({out['wall_seconds']} s)", flush=True)
    return out


def _parameters_on(model: Any) -> list[str]:
    """The devices of a fitted model's parameters, found wherever the model keeps its networks."""
    found: set[str] = set()
    for value in vars(model).values():
        modules = value.values() if isinstance(value, dict) else [value]
        for module in modules:
            if isinstance(module, torch.nn.Module):
                found.update(str(p.device.type) for p in module.parameters())
            elif hasattr(module, "network_") and isinstance(module.network_, torch.nn.Module):
                found.update(str(p.device.type) for p in module.network_.parameters())
    return sorted(found)


def smoke(method: str, root: str | None) -> dict[str, Any]:
    """One epoch of ``method`` on the smoke task, on CUDA; metrics and parameter devices."""
    task = get_task(SMOKE_TASK)
    data = cdgraph.datasets.load(task.dataset, root=root)
    split = cdgraph.split.SPLITS.get(task.split)(data, task.target)
    model = cdgraph.make_model(method, target=task.target)
    model.fit(split, epochs=1, device=DEVICE, progress=False, valid_protocol="sampled",
              valid_negatives=task.num_negatives)
    sampled = model.evaluate(split, protocol="sampled", num_negatives=task.num_negatives, k=(10,))
    full = model.evaluate(split, protocol="full", k=(20,))
    return {"devices": _parameters_on(model), "NDCG@10": sampled["NDCG@10"], "full/NDCG@20": full["NDCG@20"]}


def committed(task: str, method: str) -> dict[str, str]:
    with open(HERE / "results" / "grid" / "results.csv") as fh:
        for row in csv.DictReader(fh):
            if row["task"] == task and row["method"] == method and row["seed"] == "0":
                return row
    return {}


def timed(task: str, method: str, device: str, epochs: int, root: str | None) -> dict[str, Any]:
    threads = torch.get_num_threads()
    row = run_one(task, method, 0, epochs, {"device": device}, root=root)
    metric = get_task(task).metric
    ref = committed(task, method)
    return {"device": device, "threads": threads, "epochs_run": row["epochs_run"], "seconds": row["seconds"],
            "seconds_per_epoch": round(row["seconds"] / max(row["epochs_run"], 1), 3), "metric": metric,
            "value": row[metric], "committed_cpu_value": float(ref[metric]) if ref else None,
            "committed_cpu_seconds": float(ref["seconds"]) if ref else None}


def content(root: str | None, epochs: int) -> dict[str, Any]:
    data = cdgraph.datasets.load("amazon-food-kitchen", root=root)
    split = cdgraph.split.SPLITS.get("predefined")(data, "kitchen")
    model = cdgraph.GraphRecommender("kitchen", content="auto", text_encoder="tfidf", source_weight=1.0)
    started = time.perf_counter()
    model.fit(split, epochs=epochs, device=DEVICE, progress=False, valid_protocol="sampled", valid_negatives=999)
    _sync()
    seconds = time.perf_counter() - started
    result = model.evaluate(split, protocol="sampled", num_negatives=999, k=(10,))
    return {"devices": _parameters_on(model), "seconds": round(seconds, 2), "NDCG@10": result["NDCG@10"]}


def save_and_load(root: str | None) -> dict[str, Any]:
    task = get_task(SMOKE_TASK)
    data = cdgraph.datasets.load(task.dataset, root=root)
    split = cdgraph.split.SPLITS.get(task.split)(data, task.target)
    model = cdgraph.make_model("lightgcn-joint", target=task.target)
    model.fit(split, epochs=2, device=DEVICE, progress=False)
    users = list(data.user_ids[:5])
    on_gpu = model.recommend(users, k=10)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.pt"
        model.save(path)
        again = cdgraph.load_model(path)
    on_cpu = again.recommend(users, k=10)
    same = on_gpu["item"].tolist() == on_cpu["item"].tolist()
    gap = float((on_gpu["score"].to_numpy() - on_cpu["score"].to_numpy()).__abs__().max())
    return {"loaded_devices": _parameters_on(again), "same_items": same, "largest_score_difference": gap}


def write(out: Path, report: dict[str, Any]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "cuda.json").write_text(json.dumps(report, indent=1, default=str))
    lines = [f"# cdgraph on CUDA: {report['gpu']}", "",
             f"torch {report['torch']}, CUDA {report['cuda']}, {report['cpus']} CPU threads, "
             f"python {report['python']}. Command: `{report['command']}`.", "",
             f"## Every method, one epoch on {SMOKE_TASK}, device cuda", "",
             "| method | ok | parameters on | sampled NDCG@10 | seconds | error |", "|---|---|---|---|---|---|"]
    for method, r in report["smoke"].items():
        lines.append(f"| {method} | {r['ok']} | {','.join(r.get('devices', []))} | {r.get('NDCG@10', '')} "
                     f"| {r['wall_seconds']} | {r.get('error', '')[:120]} |")
    lines += ["", "## Full fits, CUDA against this machine's CPU", "",
              "| task | method | device | epochs run | fit s | s/epoch | metric | value | committed CPU value | "
              "committed CPU fit s |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in report["timed"]:
        if not r["ok"]:
            lines.append(f"| {r['task']} | {r['method']} | {r['want']} | failed: {r['error'][:120]} |||||||")
            continue
        lines.append(f"| {r['task']} | {r['method']} | {r['device']} | {r['epochs_run']} | {r['seconds']} | "
                     f"{r['seconds_per_epoch']} | {r['metric']} | {r['value']:.4f} | "
                     f"{r['committed_cpu_value'] or float('nan'):.4f} | {r['committed_cpu_seconds']} |")
    for name in ("content", "save_and_load"):
        lines += ["", f"## {name}", "", "```", json.dumps({k: v for k, v in report[name].items()
                                                           if k != "traceback"}, indent=1, default=str), "```"]
    (out / "cuda.md").write_text("\n".join(lines) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=str(HERE / "results"))
    parser.add_argument("--root", default=os.environ.get("CDGRAPH_DATA"))
    parser.add_argument("--epochs", type=int, default=30, help="the timed CUDA fits' budget (the grid's)")
    parser.add_argument("--cpu-epochs", type=int, default=2, help="the timed CPU fits' budget")
    parser.add_argument("--quick", action="store_true", help="1 epoch everywhere (a check of the script)")
    parser.add_argument("--methods", nargs="+", default=None, help="the smoke runs' methods (default: all)")
    parser.add_argument("--timed", nargs="+", default=None, metavar="TASK:METHOD",
                        help="the timed fits (default: lightgcn-joint and cdgraph on two tasks)")
    parser.add_argument("--no-extras", action="store_true", help="skip the content and save/load checks")
    parser.add_argument("--device", default="cuda", help="cpu: run the script's checks without a GPU")
    args = parser.parse_args()
    global DEVICE
    DEVICE = args.device
    if args.quick:
        args.epochs = args.cpu_epochs = 1
    device = "cuda" if torch.cuda.is_available() or DEVICE == "cpu" else None
    report: dict[str, Any] = {"command": " ".join(sys.argv), "torch": torch.__version__, "cuda": torch.version.cuda,
                              "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no CUDA device",
                              "cpus": os.cpu_count(), "python": platform.python_version()}
    if device is None:
        print("no CUDA device here: nothing to check")
        return 2
    report["smoke"] = {m: _attempt(f"smoke {m}", lambda m=m: smoke(m, args.root)) for m in args.methods or MODELS.names()}
    report["timed"], report["content"], report["save_and_load"] = [], {}, {}
    write(Path(args.out), report)
    pairs = [tuple(t.split(":")) for t in args.timed] if args.timed else TIMED
    for task, method in pairs:
        for dev, epochs in ((DEVICE, args.epochs), ("cpu", args.cpu_epochs))[:1 if args.cpu_epochs == 0 else 2]:
            r = _attempt(f"timed {task} {method} {dev}", lambda: timed(task, method, dev, epochs, args.root))
            report["timed"].append({"task": task, "method": method, "want": dev, **r})
            write(Path(args.out), report)  # what ran so far survives a time limit
    if args.no_extras:
        write(Path(args.out), report)
        return 0
    report["content"] = _attempt("content", lambda: content(args.root, 1 if args.quick else 10))
    report["save_and_load"] = _attempt("save and load", lambda: save_and_load(args.root))
    write(Path(args.out), report)
    print((Path(args.out) / "cuda.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
