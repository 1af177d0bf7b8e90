"""Time and memory of loading data: the largest mirrored pair and a 10M-interaction synthetic set.

Each case runs in a fresh subprocess so that its peak RSS is its own. Reported per step:
wall seconds, tracemalloc peak (Python + numpy allocations) and the growth of peak RSS over
the RSS after imports. Writes benchmarks/results/data.json and data.md.

    python benchmarks/bench_data.py [--root /path/to/mirror] [--users 1000000] [--per-domain 5000000]
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import resource
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

log = logging.getLogger("bench_data")
HERE = Path(__file__).resolve().parent
CASES = ["load_elec_cloth", "synthetic_10m", "from_frames_10m"]


def _rss_mib() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2 ** 20


def _measure(step: str, fn, out: dict):
    base = _rss_mib()
    tracemalloc.start()
    start = time.perf_counter()
    value = fn()
    seconds = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out[step] = {"seconds": round(seconds, 3), "tracemalloc_peak_mib": round(peak / 2 ** 20, 1),
                 "rss_growth_mib": round(max(0.0, maxrss - base), 1), "rss_peak_mib": round(maxrss, 1)}
    return value


def _graph_step(data, out: dict) -> None:
    try:
        from cdgraph.graph import build_graph
    except ImportError as exc:
        out["graph"] = {"skipped": f"cdgraph.graph.build_graph not importable ({exc})"}
        return
    _measure("graph", lambda: build_graph("bipartite", data), out)


def run_case(case: str, args: argparse.Namespace) -> dict:
    """Run one case in this process; return its measurements."""
    from cdgraph.data.interactions import CrossDomainData
    from cdgraph.datasets import load, synthetic

    out: dict = {"case": case}
    if case == "load_elec_cloth":
        data = _measure("load", lambda: load("amazon-elec-cloth", root=args.root, download=False), out)
        out["interactions"] = sum(len(data.interactions(d)) for d in data.domains)
        _graph_step(data, out)
    elif case == "synthetic_10m":
        data = _measure("generate", lambda: synthetic(
            num_users=args.users, items_per_domain=args.items, interactions_per_domain=args.per_domain,
            seed=0), out)
        out["interactions"] = sum(len(data.interactions(d)) for d in data.domains)
        _graph_step(data, out)
    elif case == "from_frames_10m":
        data = synthetic(num_users=args.users, items_per_domain=args.items,
                         interactions_per_domain=args.per_domain, seed=0)
        frames = {d: data.interactions(d) for d in data.domains}
        del data
        rebuilt = _measure("from_frames", lambda: CrossDomainData.from_frames(frames), out)
        out["interactions"] = sum(len(rebuilt.interactions(d)) for d in rebuilt.domains)
    else:
        raise ValueError(f"Unknown case {case!r}; choose from {CASES}.")
    return out


def _markdown(results: list[dict], meta: dict) -> str:
    lines = [f"# Data loading benchmark\n\n{meta['python']} on {meta['machine']}, "
             f"{meta['cpus']} CPUs. Each case in a fresh process.\n",
             "| case | step | interactions | seconds | tracemalloc peak MiB | RSS growth MiB "
             "| RSS peak MiB |",
             "|---|---|---|---|---|---|---|"]
    for res in results:
        for step, m in res.items():
            if not isinstance(m, dict):
                continue
            if "skipped" in m:
                lines.append(f"| {res['case']} | {step} | | skipped: {m['skipped']} | | | |")
            else:
                lines.append(f"| {res['case']} | {step} | {res.get('interactions', '')} | "
                             f"{m['seconds']} | {m['tracemalloc_peak_mib']} | {m['rss_growth_mib']} | "
                             f"{m['rss_peak_mib']} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_root = os.environ.get("CDGRAPH_DATA") or str(HERE.parent.parent / "shared" / "data")
    parser.add_argument("--root", default=default_root, help="folder with the mirrored datasets")
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--items", type=int, default=200_000)
    parser.add_argument("--per-domain", type=int, default=5_000_000)
    parser.add_argument("--case", choices=CASES, help="(internal) run one case and print JSON")
    args = parser.parse_args()
    if args.case:
        print(json.dumps(run_case(args.case, args)))  # read by the parent process
        return
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    results = []
    for case in CASES:
        cmd = [sys.executable, __file__, "--case", case, "--root", args.root, "--users", str(args.users),
               "--items", str(args.items), "--per-domain", str(args.per_domain)]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode:
            log.error("case %s failed:\n%s", case, proc.stderr[-3000:])
            results.append({"case": case, "error": proc.stderr.strip().splitlines()[-1:]})
            continue
        results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        log.info("%s", results[-1])
    meta = {"python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count(),
            "users": args.users, "items": args.items, "per_domain": args.per_domain}
    out_dir = HERE / "results"
    out_dir.mkdir(exist_ok=True)
    (out_dir / "data.json").write_text(json.dumps({"meta": meta, "results": results}, indent=2))
    (out_dir / "data.md").write_text(_markdown(results, meta))
    log.info("wrote %s and %s", out_dir / "data.json", out_dir / "data.md")


if __name__ == "__main__":
    main()
