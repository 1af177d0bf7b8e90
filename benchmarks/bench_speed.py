"""Speed and memory of LightGCN training and full-ranking evaluation: cdgraph against PyG.

One LightGCN step (3 layers, dim 64, a batch of 8,192 target positives plus as many
source-domain positives, one negative each, BPR + L2, one Adam step) on the same graph,
batch and seed, by

* ``pyg_edge_index``: :class:`torch_geometric.nn.models.LightGCN` on the homogeneous
  ``edge_index`` (users + the items of both domains, both directions), normalised by
  ``LGConv`` in every layer of every step (PyG's documented use);
* ``pyg_edge_weight``: the same with the normalised weights computed once
  (``normalize=False`` and ``edge_weight``), the fastest ``edge_index`` use;
* ``pyg_csr``: the same model on a normalised ``torch.sparse_csr`` adjacency
  (``normalize=False``): ``LGConv`` then calls ``torch.sparse.mm`` (no torch-sparse needed);
* ``cdgraph``: the :class:`~cdgraph.models.network.Network` of ``GraphRecommender`` with the
  ``lightgcn`` encoder (``views="joint"``), ``Network.losses`` + backward + Adam.

Every (graph, implementation) pair runs in a fresh subprocess with one torch thread, so
its peak RSS is its own (``VmHWM`` reset after the graph is built, so the peak is that
of training). Also measured: full-ranking evaluation of all test users
(:func:`cdgraph.evaluation.full.full_ranking`, dot scorer, train items masked) and the
memory-bandwidth bound of one CSR sparse x dense product. Writes
``benchmarks/results/speed.json`` and ``speed.md``.

    OMP_NUM_THREADS=1 python benchmarks/bench_speed.py [--sizes 100k 1m 10m sport-cloth]
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger("bench_speed")
HERE = Path(__file__).resolve().parent

#: synthetic graphs with the same mean degree (20 per user and per item in each domain),
#: so that the growth exponents measure size alone. name -> (users, items/domain, interactions/domain)
SYNTHETIC = {"100k": (5_000, 2_500, 50_000), "1m": (50_000, 25_000, 500_000),
             "10m": (500_000, 250_000, 5_000_000)}
REAL = {"sport-cloth": ("amazon-sport-cloth", "cloth", "predefined")}
IMPLS = ["pyg_edge_index", "pyg_edge_weight", "pyg_csr", "cdgraph"]
BATCH, DIM, LAYERS, LR, L2 = 8192, 64, 3, 0.01, 1e-4
SKIP_REASON = ("skipped: edge_index messages are [2 x interactions, 64] float32 (2.5 GB) per tensor; "
               "peak RSS grew 1.45 GB at 1M, so ~14 GB at 10M on a shared 23 GB machine")


# ----------------------------------------------------------------------------- memory
def _status_mib(field: str) -> float:
    with open("/proc/self/status") as fh:
        return int(re.search(rf"{field}:\s+(\d+)", fh.read()).group(1)) / 1024


def _reset_peak() -> bool:
    """Reset the peak RSS (``VmHWM``) to the current RSS (Linux >= 4.0); False if not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def _median_time(fn, repeats: int) -> tuple[float, list[float]]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times


# ----------------------------------------------------------------------------- data
def _split(size: str, root: str):
    import cdgraph
    from cdgraph import datasets

    if size in SYNTHETIC:
        users, items, per_domain = SYNTHETIC[size]
        data = datasets.synthetic(num_users=users, items_per_domain=items,
                                  interactions_per_domain=per_domain, seed=0)
        return cdgraph.data.split.leave_one_out(data, "b", seed=0, valid=False)
    name, target, kind = REAL[size]
    data = datasets.load(name, root=root, download=False)
    return getattr(cdgraph.data.split, kind)(data, target)


def _homogeneous(ctx) -> tuple[Any, dict[str, int], int]:
    """``edge_index`` of the joint graph (users, then each domain's items), both directions."""
    import torch

    offset, start = {}, ctx.num_users
    for d in ctx.domains:
        offset[d] = start
        start += ctx.num_items[d]
    u = np.concatenate([ctx.edges[d][0] for d in ctx.domains])
    i = np.concatenate([ctx.edges[d][1] + offset[d] for d in ctx.domains])
    ei = torch.from_numpy(np.stack([np.concatenate([u, i]), np.concatenate([i, u])]).astype(np.int64))
    return ei, offset, start


def _normalized(edge_index, n: int):
    """Symmetric-normalised weights ``1 / sqrt(deg(i) deg(j))`` of ``edge_index``."""
    import torch

    deg = torch.bincount(edge_index[0], minlength=n).float()
    inv = deg.clamp(min=1).pow(-0.5)
    return inv[edge_index[0]] * inv[edge_index[1]]


# ----------------------------------------------------------------------------- training cases
def run_train(size: str, impl: str, args: argparse.Namespace) -> dict[str, Any]:
    import torch

    from cdgraph.graph.context import GraphContext
    from cdgraph.models.network import Network
    from cdgraph.train.batches import Batches

    torch.set_num_threads(args.threads)
    out: dict[str, Any] = {"kind": "train", "size": size, "impl": impl, "threads": torch.get_num_threads()}
    started = time.perf_counter()
    sp = _split(size, args.root)
    ctx = GraphContext.from_split(sp)
    out["interactions_train"] = int(sum(len(ctx.edges[d][0]) for d in ctx.domains))
    out["users"], out["items"] = ctx.num_users, dict(ctx.num_items)
    out["data_seconds"] = round(time.perf_counter() - started, 2)

    steps = args.steps_10m if size == "10m" else args.steps
    batches = Batches(ctx, BATCH, source_weight=1.0)
    out["steps_per_epoch"] = len(batches)
    it = batches.epoch(torch.Generator().manual_seed(0))
    sample_start = time.perf_counter()
    pre = [next(it) for _ in range(min(len(batches), 1 + steps))]  # same batches for every impl
    out["sampling_seconds_per_batch"] = (time.perf_counter() - sample_start) / len(pre)
    while len(pre) < 1 + steps:  # a graph with fewer batches than steps: reuse them
        pre.append(pre[len(pre) % len(batches)])

    torch.manual_seed(0)
    build_start = time.perf_counter()
    if impl == "cdgraph":
        net = Network(ctx, "lightgcn", "target", "dot", None, DIM, LAYERS, {"encoder": {"views": "joint"}})
        ctx.blocks(joint=True)  # normalised CSR blocks, built once and cached by the context
        params = net.parameters()

        def step(batch) -> float:
            terms = net.losses(ctx, batch, "bpr", L2, 1.0)
            loss = sum(terms.values())
            optim.zero_grad(set_to_none=True)
            loss.backward()
            optim.step()
            return loss.item()
    else:
        from torch_geometric.nn.models import LightGCN

        edge_index, offset, n = _homogeneous(ctx)
        if impl == "pyg_edge_index":
            model, graph, weight = LightGCN(n, DIM, LAYERS), edge_index, None
        elif impl == "pyg_edge_weight":
            model, graph, weight = LightGCN(n, DIM, LAYERS, normalize=False), edge_index, \
                _normalized(edge_index, n)
        elif impl == "pyg_csr":
            value = _normalized(edge_index, n)
            graph = torch.sparse_coo_tensor(edge_index, value, (n, n)).coalesce().to_sparse_csr()
            model, weight = LightGCN(n, DIM, LAYERS, normalize=False), None
            del edge_index
        else:
            raise ValueError(f"Unknown implementation {impl!r}; choose from {IMPLS}.")
        params = model.parameters()
        homog = [{d: (u, p + offset[d], q + offset[d]) for d, (u, p, q) in b.items()} for b in pre]
        pre = homog

        def step(batch) -> float:
            emb = model.get_embedding(graph, weight)
            u = torch.cat([b[0] for b in batch.values()])
            p = torch.cat([b[1] for b in batch.values()])
            q = torch.cat([b[2] for b in batch.values()])
            pos, neg = (emb[u] * emb[p]).sum(-1), (emb[u] * emb[q]).sum(-1)
            loss = model.recommendation_loss(pos, neg, node_id=torch.cat([u, p, q]), lambda_reg=L2)
            optim.zero_grad(set_to_none=True)
            loss.backward()
            optim.step()
            return loss.item()
    optim = torch.optim.Adam(params, lr=LR)
    out["build_seconds"] = round(time.perf_counter() - build_start, 3)

    out["rss_before_steps_mib"] = round(_status_mib("VmRSS"), 1)
    out["peak_reset"] = _reset_peak()
    times, losses = [], []
    for batch in pre:
        start = time.perf_counter()
        losses.append(step(batch))
        times.append(time.perf_counter() - start)
    out["step_seconds_all"] = [round(t, 4) for t in times]
    out["warmup_seconds"] = round(times[0], 4)
    out["step_seconds"] = statistics.median(times[1:])
    out["losses"] = [round(v, 5) for v in losses]
    out["epoch_seconds_extrapolated"] = out["steps_per_epoch"] * (out["step_seconds"]
                                                                  + out["sampling_seconds_per_batch"])
    out["peak_rss_mib"] = round(_status_mib("VmHWM"), 1)
    out["peak_rss_growth_mib"] = round(out["peak_rss_mib"] - out["rss_before_steps_mib"], 1)
    out["ru_maxrss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)

    if impl == "cdgraph":
        out["spmm"] = _spmm_bound(ctx, args)
        if size in args.eval_sizes:
            out["full_ranking"] = _eval_network(net, ctx, sp)
    return out


def _copy_bandwidth(mib: int = 1024) -> float:
    """GB/s of ``clone`` of a ``mib`` buffer, counting the read and the write."""
    import torch

    x = torch.ones(mib * 2 ** 18)
    x.clone()
    seconds, _ = _median_time(lambda: x.clone(), 5)
    return 2 * x.numel() * 4 / seconds / 1e9


def _spmm_bound(ctx, args: argparse.Namespace) -> dict[str, Any]:
    """One ``users x items`` CSR block times a ``[items, 64]`` dense matrix, against the copy bound."""
    import torch

    block = ctx.blocks(joint=True)[ctx.target].ui
    rows, cols = block.shape
    nnz = block.values().numel()
    x = torch.randn(cols, DIM)
    torch.sparse.mm(block, x)
    seconds, _ = _median_time(lambda: torch.sparse.mm(block, x), 7)
    bandwidth = _copy_bandwidth()
    # model: values (4 B) + column indices (8 B) per nonzero, row pointers (8 B) per row,
    # one gathered dense row per nonzero (dim * 4 B, no cache reuse assumed), output written once
    moved = nnz * (4 + 8) + (rows + 1) * 8 + nnz * DIM * 4 + rows * DIM * 4
    # lower bound: every dense row of x read once (perfect cache reuse)
    moved_min = nnz * (4 + 8) + (rows + 1) * 8 + cols * DIM * 4 + rows * DIM * 4
    bound = moved / (bandwidth * 1e9)
    return {"rows": rows, "cols": cols, "nnz": nnz, "seconds": seconds, "copy_gb_s": bandwidth,
            "bytes_model": moved, "bytes_min": moved_min, "bound_seconds": bound,
            "bound_min_seconds": moved_min / (bandwidth * 1e9), "achieved_fraction": bound / seconds,
            "achieved_gb_s": moved / seconds / 1e9}


# ----------------------------------------------------------------------------- evaluation cases
def _time_full_ranking(users, items, truth, exclude, chunk: int) -> dict[str, Any]:
    from cdgraph.evaluation.full import full_ranking

    start = time.perf_counter()
    frame = full_ranking(lambda u: users[u] @ items.T, items.size(0), truth[0], truth[1],
                         exclude[0], exclude[1], ks=(10, 20), chunk_size=chunk)
    seconds = time.perf_counter() - start
    return {"seconds": round(seconds, 2), "users_ranked": len(frame), "items": int(items.size(0)),
            "excluded_pairs": int(len(exclude[0])), "chunk_size": chunk,
            "NDCG@20": round(float(frame["NDCG@20"].mean()), 5)}


def _eval_network(net, ctx, sp) -> dict[str, Any]:
    """Full ranking of every test user of the target domain with the (barely trained) network."""
    import torch

    start = time.perf_counter()
    users, items = net.final(ctx)
    embed = time.perf_counter() - start
    test, train = sp.test, sp.train[ctx.target]
    truth, exclude = ((torch.tensor(f["user"].to_numpy(np.int64)), torch.tensor(f["item"].to_numpy(np.int64)))
                      for f in (test, train))
    res = _time_full_ranking(users, items, truth, exclude, 1024)
    res["embedding_seconds"] = round(embed, 2)
    return res


def run_eval_random(args: argparse.Namespace) -> dict[str, Any]:
    """Full ranking of 100k users x 100k items, random embeddings, 20 train items masked per user."""
    import torch

    torch.set_num_threads(args.threads)
    n_users, n_items, seen = args.eval_users, args.eval_items, 20
    gen = torch.Generator().manual_seed(0)
    users, items = torch.randn(n_users, DIM, generator=gen), torch.randn(n_items, DIM, generator=gen)
    truth = (torch.arange(n_users), torch.randint(0, n_items, (n_users,), generator=gen))
    exclude = (torch.arange(n_users).repeat_interleave(seen), torch.randint(0, n_items, (n_users * seen,),
                                                                            generator=gen))
    out = {"kind": "eval_random", "threads": torch.get_num_threads(), "users": n_users, "items": n_items}
    _reset_peak()
    out.update(_time_full_ranking(users, items, truth, exclude, 1024))
    out["peak_rss_mib"] = round(_status_mib("VmHWM"), 1)
    out["chunk_breakdown"] = _chunk_breakdown(users, items, exclude, 1024)
    return out


def _chunk_breakdown(users, items, exclude, chunk: int) -> dict[str, float]:
    """Seconds of each operation of one full-ranking chunk (median of 3), as ``full_ranking`` does them."""
    import torch

    from cdgraph.data.pairs import PairIndex

    index = PairIndex(exclude[0], exclude[1], items.size(0), "exclude")
    u = torch.arange(chunk)
    scores = users[u] @ items.T
    rows, cols = index.gather(u)
    inf = torch.tensor(float("-inf"))
    steps = {"score_matmul": lambda: users[u] @ items.T,
             "nan_check": lambda: torch.isnan(scores).any(),
             "mask_index_put_copy": lambda: scores.index_put((rows, cols), inf),
             "mask_index_put_inplace": lambda: scores.clone().index_put_((rows, cols), inf),
             "clone_only": lambda: scores.clone(),
             "topk20": lambda: scores.topk(20, dim=1)}
    return {name: round(_median_time(fn, 3)[0], 4) for name, fn in steps.items()}


# ----------------------------------------------------------------------------- report
def _fit_exponent(x: list[float], y: list[float]) -> float | None:
    if len(x) < 2:
        return None
    slope, _ = np.polyfit(np.log(x), np.log(y), 1)
    return round(float(slope), 3)


def _summaries(results: list[dict]) -> dict[str, Any]:
    train = {(r["size"], r["impl"]): r for r in results if r.get("kind") == "train" and "step_seconds" in r}
    ratios, growth = {}, {}
    for (size, impl), r in train.items():
        if impl == "cdgraph":
            continue
        mine = train.get((size, "cdgraph"))
        if mine:
            ratios[f"{size}:{impl}"] = {"speedup": r["step_seconds"] / mine["step_seconds"],
                                        "memory_ratio": r["peak_rss_growth_mib"]
                                        / max(mine["peak_rss_growth_mib"], 1.0)}
    for impl in IMPLS:
        pts = sorted((train[s, impl]["interactions_train"], train[s, impl]["step_seconds"],
                      train[s, impl]["peak_rss_growth_mib"]) for s in SYNTHETIC if (s, impl) in train)
        growth[impl] = {"sizes": [p[0] for p in pts],
                        "time_exponent": _fit_exponent([p[0] for p in pts], [p[1] for p in pts]),
                        "memory_exponent": _fit_exponent([p[0] for p in pts], [max(p[2], 1.0) for p in pts])}
    return {"ratios": ratios, "growth": growth}


def _markdown(results: list[dict], summary: dict, meta: dict) -> str:
    lines = ["# Speed benchmark: LightGCN step and full ranking\n",
             f"torch {meta['torch']}, PyG {meta['pyg']}, Python {meta['python']}, {meta['cpu']} "
             f"({meta['cpus']} cores). **Every process ran with "
             f"`torch.set_num_threads({meta['threads']})` and `OMP_NUM_THREADS={meta['omp']}`** "
             f"(cores shared with other jobs; load average at start "
             f"{meta['loadavg_start']}, at end {meta['loadavg_end']}). Each (graph, implementation) in a "
             f"fresh process. Step: LightGCN, {LAYERS} layers, dim {DIM}, {BATCH:,} target + {BATCH:,} "
             f"source positives, one negative each, BPR + L2, Adam. Step seconds = median of "
             f"{meta['steps']} steps after one warm-up ({meta['steps_10m']} at 10M); epoch = steps/epoch x "
             f"(step + batch sampling), extrapolated. Peak RSS growth = `VmHWM` during the steps minus RSS "
             f"before them (graph and data excluded).\n",
             "## Training step\n",
             "| graph | train interactions | implementation | step s | warm-up s | epoch s (extrap.) "
             "| peak RSS growth MiB | cdgraph speed-up | memory vs cdgraph |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        if r.get("kind") != "train":
            continue
        if "step_seconds" not in r:
            lines.append(f"| {r['size']} | | {r['impl']} | {r.get('skipped') or r.get('error')} | | | | | |")
            continue
        ratio = summary["ratios"].get(f"{r['size']}:{r['impl']}")
        sp = f"{ratio['speedup']:.1f}x" if ratio else "-"
        mem = f"{ratio['memory_ratio']:.1f}x" if ratio else "-"
        lines.append(f"| {r['size']} | {r['interactions_train']:,} | {r['impl']} | {r['step_seconds']:.3f} | "
                     f"{r['warmup_seconds']:.3f} | {r['epoch_seconds_extrapolated']:.1f} | "
                     f"{r['peak_rss_growth_mib']:.0f} | {sp} | {mem} |")
    lines += ["", "cdgraph speed-up = PyG step seconds / cdgraph step seconds on the same graph and batch; "
              "memory = PyG peak RSS growth / cdgraph's.", "",
              "## Growth with the graph (synthetic sizes, log-log least squares)\n",
              "| implementation | interactions | time exponent | memory exponent |", "|---|---|---|---|"]
    for impl, g in summary["growth"].items():
        lines.append(f"| {impl} | {', '.join(f'{s:,}' for s in g['sizes'])} | {g['time_exponent']} | "
                     f"{g['memory_exponent']} |")
    lines += ["", "## One CSR sparse x dense product (target users x items block, dim 64) against the "
              "copy bandwidth\n",
              "Bytes model: nnz x (4 value + 8 index) + (rows + 1) x 8 + nnz x 64 x 4 (one gathered dense "
              "row per nonzero, no cache reuse) + rows x 64 x 4 written. Bound = bytes / copy GB/s "
              "(`clone` of 1 GiB, read + write counted). `min` assumes each dense row is read once.\n",
              "| graph | rows | nnz | copy GB/s | spmm s | bound s | min bound s | achieved fraction |",
              "|---|---|---|---|---|---|---|---|"]
    for r in results:
        s = r.get("spmm")
        if s:
            lines.append(f"| {r['size']} | {s['rows']:,} | {s['nnz']:,} | {s['copy_gb_s']:.1f} | "
                         f"{s['seconds']:.4f} | {s['bound_seconds']:.4f} | "
                         f"{s['bound_min_seconds']:.4f} | {s['achieved_fraction']:.2f} |")
    lines += ["", "## Full-ranking evaluation (all test users, dot scorer, train items masked, top-20)\n",
              "| case | threads | users ranked | items | masked pairs | seconds |",
              "|---|---|---|---|---|---|"]
    for r in results:
        fr = r.get("full_ranking")
        if fr:
            lines.append(f"| {r['size']} graph, cdgraph network | {r['threads']} | {fr['users_ranked']:,} | "
                         f"{fr['items']:,} | {fr['excluded_pairs']:,} | {fr['seconds']} |")
        if r.get("kind") == "eval_random":
            if "seconds" not in r:
                lines.append(f"| random embeddings | {r.get('threads')} | | | | {r.get('error')} |")
                continue
            lines.append(f"| random embeddings | {r['threads']} | {r['users_ranked']:,} | {r['items']:,} | "
                         f"{r['excluded_pairs']:,} | {r['seconds']} |")
    parts = [r for r in results if r.get("kind") == "eval_random" and "chunk_breakdown" in r]
    if parts:
        names = list(parts[0]["chunk_breakdown"])
        lines += ["", "Seconds of each operation on one chunk of 1,024 users x all items (random case; "
                  "`full_ranking` does score_matmul, nan_check, mask_index_put_copy and topk20):\n",
                  "| threads | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
        for r in parts:
            cells = " | ".join(str(r["chunk_breakdown"][k]) for k in names)
            lines.append(f"| {r['threads']} | {cells} |")
    return "\n".join(lines + _whole_epochs()) + "\n"


def _whole_epochs() -> list[str]:
    """The whole-epoch table of ``bench_steps.py`` (``results/steps.json``), when it has run."""
    path = HERE / "results" / "steps.json"
    if not path.exists():
        return []
    from bench_steps import epoch_table  # benchmarks/ is this script's folder, first on sys.path

    return ["", "## Whole epochs with and without `max_steps` (from `bench_steps.py`, see `steps.md`)", "",
            "Measured epochs, not extrapolated: `fit(epochs=2)` of `lightgcn-joint` (3 layers, dim 64); "
            "`max_steps` caps the steps of an epoch, the batch growing instead. Measured by its own runs, "
            "not in the run above: compare its rows with each other, not with the tables above.", "",
            *epoch_table(json.loads(path.read_text())["results"])]


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            return re.search(r"model name\s*:\s*(.*)", fh.read()).group(1).strip()
    except (OSError, AttributeError):
        return platform.processor() or "unknown"


def _child(case: list[str], args: argparse.Namespace, threads: int) -> dict[str, Any]:
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    cmd = [sys.executable, __file__, "--case", *case, "--threads", str(threads), "--root", args.root,
           "--steps", str(args.steps), "--steps-10m", str(args.steps_10m), "--eval-sizes", *args.eval_sizes,
           "--eval-users", str(args.eval_users), "--eval-items", str(args.eval_items)]
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env, timeout=args.timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {args.timeout} s"}
    if proc.returncode:
        log.error("case %s failed:\n%s", case, proc.stderr[-3000:])
        return {"error": (proc.stderr.strip().splitlines() or [f"exit {proc.returncode}"])[-1]}
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    res["process_seconds"] = round(time.perf_counter() - start, 1)
    return res


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_root = os.environ.get("CDGRAPH_DATA") or str(HERE.parent.parent / "shared" / "data")
    parser.add_argument("--root", default=default_root, help="folder with the mirrored datasets")
    parser.add_argument("--sizes", nargs="+", default=["100k", "1m", "10m", "sport-cloth"],
                        choices=[*SYNTHETIC, *REAL])
    parser.add_argument("--impls", nargs="+", default=IMPLS, choices=IMPLS)
    parser.add_argument("--skip", nargs="*", default=["10m:pyg_edge_index", "10m:pyg_edge_weight"],
                        help="size:impl pairs not run (default: the edge_index ones at 10M, see README)")
    parser.add_argument("--steps", type=int, default=5, help="timed steps after one warm-up")
    parser.add_argument("--steps-10m", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--eval-threads", nargs="+", type=int, default=[1, 2],
                        help="threads of the random-embedding full-ranking case")
    parser.add_argument("--eval-sizes", nargs="*", default=["1m"], help="graphs whose cdgraph network "
                        "is also evaluated by full ranking")
    parser.add_argument("--eval-users", type=int, default=100_000)
    parser.add_argument("--eval-items", type=int, default=100_000)
    parser.add_argument("--timeout", type=int, default=900, help="seconds per case")
    parser.add_argument("--case", nargs="+", help="(internal) run one case and print JSON")
    parser.add_argument("--report-only", action="store_true", help="rewrite speed.md from speed.json "
                        "and steps.json (bench_steps.py) without measuring")
    args = parser.parse_args()
    out_dir = HERE / "results"
    if args.report_only:
        saved = json.loads((out_dir / "speed.json").read_text())
        (out_dir / "speed.md").write_text(_markdown(saved["results"], saved["summary"], saved["meta"]))
        return
    if args.case:
        kind = args.case[0]
        res = run_train(args.case[1], args.case[2], args) if kind == "train" else run_eval_random(args)
        print(json.dumps(res))  # read by the parent process
        return
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    import torch
    import torch_geometric

    meta = {"python": platform.python_version(), "torch": torch.__version__,
            "pyg": torch_geometric.__version__,
            "cpu": _cpu_model(), "cpus": os.cpu_count(), "threads": args.threads,
            "omp": args.threads, "steps": args.steps, "steps_10m": args.steps_10m, "batch": BATCH,
            "dim": DIM, "layers": LAYERS, "synthetic": SYNTHETIC,
            "loadavg_start": [round(v, 2) for v in os.getloadavg()]}
    started = time.perf_counter()
    results = []
    for size in args.sizes:
        for impl in args.impls:
            if f"{size}:{impl}" in args.skip:
                results.append({"kind": "train", "size": size, "impl": impl,
                                                "skipped": SKIP_REASON})
                continue
            res = {"kind": "train", "size": size, "impl": impl,
                   **_child(["train", size, impl], args, args.threads)}
            results.append(res)
            log.info("%s %s: %s", size, impl, {k: v for k, v in res.items() if k in (
                "step_seconds", "peak_rss_growth_mib", "error", "process_seconds")})
    for threads in args.eval_threads:
        res = {"kind": "eval_random", "threads": threads, **_child(["eval"], args, threads)}
        results.append(res)
        log.info("random full ranking, %d threads: %s", threads, res.get("seconds", res.get("error")))
    meta["loadavg_end"] = [round(v, 2) for v in os.getloadavg()]
    meta["total_seconds"] = round(time.perf_counter() - started, 1)
    summary = _summaries(results)
    out_dir.mkdir(exist_ok=True)
    (out_dir / "speed.json").write_text(json.dumps({"meta": meta, "summary": summary, "results": results},
                                                   indent=2))
    (out_dir / "speed.md").write_text(_markdown(results, summary, meta))
    log.info("wrote %s and %s in %.0f s", out_dir / "speed.json", out_dir / "speed.md", meta["total_seconds"])


if __name__ == "__main__":
    main()
