"""Training epochs, evaluation and test metrics on Amazon Sport & Cloth: cdgraph and RecBole-CDR, one run.

Both libraries get the same data, split and budget. The target (cloth) is split per user at
random, 8:1:1 with floors (``cdgraph.data.split.ratio``, seed 0: 72,593 / 4,332 / 18,444
target interactions; the 100,938 sport interactions are all train). Each library trains
``--epochs`` epochs (default 60) from scratch with Adam, learning rate 0.01, 8,192 target
positives and 8,192 source positives per step, one uniform negative each (so 9 steps per
epoch), embeddings of size 64, validates once at the end (the last model is the one tested)
and ranks every target item for each test user. Each runs in its own process with one torch
thread (``OMP_NUM_THREADS=1``, ``torch.set_num_threads(1)``).

* cdgraph: ``lightgcn-joint`` (LightGCN, 4 layers, on the joint graph: the graph part of
  cdgraph's default model, GraphMix, which also trains a target-only LightGCN and so has no
  single epoch to time) and ``bitgcf`` (3 layers, attention fusion), each in a fresh process
  (``--one``).
* RecBole-CDR: BiTGCF (3 layers; its defaults otherwise: BCE loss, dropout 0.3, concatenated
  layers, ``reg_weight`` 1e-3), from ``../shared/peers/recbole-cdr-d339918.tar.gz`` (commit
  d339918), in its own virtual environment, built or reused at ``--peer-venv`` (default
  ``~/.cache/cdgraph-bench/recbole-cdr-venv``): torch first, pinned to cdgraph's version so
  that pip takes the CPU wheel found locally rather than a CUDA build, then ``recbole==1.0.1``
  with ``--no-deps`` (its metadata pins ``scipy==1.6.0``, which has no wheel for Python 3.11),
  then ``numpy<2``, ``pandas<2.2``, ``scipy<1.13`` and recbole's other requirements. The
  tarball is unpacked into the environment and put on ``PYTHONPATH``. A marker file records
  what the environment was built from; a matching one is reused. The split goes to RecBole
  as atomic files written by ``cdgraph.interop.export_recbole`` (``benchmark_filename``: the
  target's train/valid/test parts are exactly ours; the sizes RecBole built are checked) under
  ``--work`` (default ``~/.cache/cdgraph-bench/epoch``), never in the repository.
  ``peer_recbole_cdr.py`` drives it with ``saved=False`` and prints the test metrics and
  times; the epoch and validation times are parsed from RecBole's log.

If the peer cannot be built or run, one line says why and cdgraph's results are still
written. Writes ``results/epoch.json`` and ``results/epoch.md`` (which give the run's wall time
and the machine's load).

    OMP_NUM_THREADS=1 CDGRAPH_DATA=../shared/data python benchmarks/bench_epoch.py
    ... --epochs 3 --no-peer          # cdgraph only
"""
from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tarfile
import time
from pathlib import Path

# benchmarks/ is this script's folder, first on sys.path
from bench_speed import _cpu_model

from cdgraph.datasets.download import sha256_file

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "cdgraph-bench"
TARBALL = REPO.parent / "shared" / "peers" / "recbole-cdr-d339918.tar.gz"
DRIVER = HERE / "peer_recbole_cdr.py"
DATASET, TARGET, METHODS = "amazon-sport-cloth", "cloth", ["lightgcn-joint", "bitgcf"]
BATCH, LR, SEED, KS, DIM = 8192, 0.01, 0, (10, 20), 64
METRICS = [f"{m}@{k}" for m in ("Recall", "NDCG") for k in KS]
RECBOLE = "recbole==1.0.1"
PEER_PINS = ["numpy<2", "pandas<2.2", "scipy<1.13"]
# recbole 1.0.1's other requirements, as its metadata lists them (it is installed with --no-deps)
RECBOLE_DEPS = ["tqdm>=4.48.2", "colorlog==4.7.2", "colorama==0.4.4", "scikit-learn>=0.23.2",
                "pyyaml>=5.1.0", "tensorboard>=2.5.0"]
PEER_TIMEOUT_S = 3600


class PeerUnavailable(Exception):
    """The peer could not be built or run; the message is the one-line reason."""


# ------------------------------------------------------------------ cdgraph
def load_split(root: str | None):
    """Amazon Sport & Cloth with the target cloth split 8:1:1 at random (seed 0)."""
    import cdgraph
    from cdgraph import datasets
    data = datasets.load(DATASET, root=root, download=False)
    return cdgraph.data.split.ratio(data, TARGET, train=0.8, valid=0.1, seed=SEED)


def measure_cdgraph(method: str, root: str | None, epochs: int) -> dict:
    """Train one cdgraph model, time its epochs and its full evaluation, and score the test part."""
    import torch
    torch.set_num_threads(1)
    from cdgraph.models import make_model

    split = load_split(root)
    model = make_model(method, TARGET, source_weight=1.0)
    model.fit(split, epochs=epochs, batch_size=BATCH, lr=LR, seed=SEED, patience=None, progress=False,
              valid_protocol="full", eval_every=epochs)
    seconds = [float(s) for s in model.history_["train_seconds"]]
    started = time.perf_counter()
    own = model.evaluate(split, protocol="full", k=KS)
    eval_s = time.perf_counter() - started
    model.invalidate()  # the same-mask evaluation below propagates again, as a fresh one would
    started = time.perf_counter()
    same = same_mask_metrics(model, split)
    same_s = time.perf_counter() - started
    return {"library": "cdgraph", "model": method, "layers": int(model.layers), "dim": int(model.dim),
            "epochs": epochs, "epoch_seconds": statistics.median(seconds), "all_epoch_seconds": seconds,
            "eval_seconds": eval_s, "same_mask_eval_seconds": same_s, "test": same,
            "test_train_masked": {m: float(own[m]) for m in METRICS},
            "test_users": int(split.test["user"].nunique()), "threads": torch.get_num_threads()}


def same_mask_metrics(model, split) -> dict:
    """Test metrics with train *and* valid items masked, as RecBole ranks (``evaluate`` masks train only)."""
    import numpy as np
    import pandas as pd
    from cdgraph.evaluation import full_ranking, summarize

    seen = pd.concat([split.train[TARGET], split.valid], ignore_index=True)
    table = full_ranking(model.score_users, split.data.num_items(TARGET),
                         split.test["user"].to_numpy(np.int64), split.test["item"].to_numpy(np.int64),
                         seen["user"].to_numpy(np.int64), seen["item"].to_numpy(np.int64), ks=KS)
    means = summarize(table)
    return {m: float(means[m]) for m in METRICS}


def run_cdgraph(method: str, epochs: int) -> dict:
    """``measure_cdgraph`` in a fresh process with one thread."""
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, __file__, "--one", method, "--epochs", str(epochs)],
                          capture_output=True, text=True, env=env)
    if proc.returncode:
        raise RuntimeError(f"cdgraph {method} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------ peer environment
def peer_steps() -> list[list[str]]:
    """The pip installs, in order: torch (cdgraph's version: the local CPU wheel), recbole, the pins."""
    torch_version = importlib.metadata.version("torch").split("+")[0]
    return [[f"torch=={torch_version}"], ["--no-deps", RECBOLE], PEER_PINS + RECBOLE_DEPS]


def _one_line(text: str) -> str:
    """The most telling line of a failed command's output (its last error, else its last line)."""
    lines = [ln.strip() for ln in text.splitlines()
             if ln.strip() and not ln.startswith("WARNING: Location")]
    errors = [ln for ln in lines if ln.startswith(("ERROR", "error:")) or "Error" in ln.split(":")[0]]
    return (errors or lines or ["no output"])[-1][:300]


def _run(cmd: list[str], what: str, timeout: float = 1800, **kwargs) -> str:
    """Run ``cmd``; its output, or PeerUnavailable naming ``what`` failed and why."""
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kwargs)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise PeerUnavailable(f"{what} failed: {exc}") from None
    if proc.returncode:
        raise PeerUnavailable(f"{what} failed: {_one_line(proc.stdout + proc.stderr)}")
    return proc.stdout


def ensure_peer_venv(venv: Path, tarball: Path) -> tuple[Path, Path]:
    """Build (or reuse a matching) virtual environment for RecBole-CDR; its python and source folder."""
    if not tarball.is_file():
        raise PeerUnavailable(f"peer archive {tarball} not found")
    marker = venv / "cdgraph-bench.json"
    want = {"tarball_sha256": sha256_file(tarball), "pip": peer_steps(),
            "base_python": platform.python_version()}
    python = venv / "bin" / "python"
    built = json.loads(marker.read_text()) if marker.is_file() else {}
    if python.exists() and {k: built.get(k) for k in want} == want and (venv / built["src"]).is_dir():
        print(f"reusing the peer environment {venv}", flush=True)
        return python, venv / built["src"]
    print(f"building the peer environment {venv} (a few minutes)", flush=True)
    shutil.rmtree(venv, ignore_errors=True)
    _run([sys.executable, "-m", "venv", str(venv)], "creating the virtual environment")
    src = unpack(tarball, venv / "src")
    for step in want["pip"]:
        _run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *step],
             f"pip install {' '.join(step)}")
    _run([str(python), "-c", "import recbole_cdr.model.cross_domain_recommender.bitgcf"],
         "importing RecBole-CDR", env=peer_env(src))
    marker.write_text(json.dumps({**want, "src": str(src.relative_to(venv))}, indent=1))
    return python, src


def unpack(tarball: Path, into: Path) -> Path:
    """Extract the ``git archive`` tarball; the folder holding ``run_recbole_cdr.py``."""
    with tarfile.open(tarball) as tar:
        tar.extractall(into, filter="data")
    found = sorted(into.glob("*/run_recbole_cdr.py"))
    if not found:
        raise PeerUnavailable(f"{tarball.name} holds no run_recbole_cdr.py")
    return found[0].parent


def tarball_commit(tarball: Path) -> str | None:
    """The commit ``git archive`` recorded in the tarball's pax header."""
    with tarfile.open(tarball) as tar:
        return tar.pax_headers.get("comment")


def peer_env(src: Path) -> dict:
    """Environment of a peer process: its source on the path, one thread, no GPU."""
    return dict(os.environ, PYTHONPATH=str(src), OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
                CUDA_VISIBLE_DEVICES="")


def peer_versions(python: Path) -> dict:
    """Python and package versions inside the peer environment."""
    code = ("import json, sys, importlib.metadata as m; print(json.dumps({'python': sys.version.split()[0], "
            "**{p: m.version(p) for p in ('torch', 'recbole', 'numpy', 'pandas', 'scipy', 'scikit-learn')}}))")
    return json.loads(_run([str(python), "-c", code], "reading the peer's versions").strip().splitlines()[-1])


# ------------------------------------------------------------------ peer run
def write_peer_files(split, work: Path, epochs: int) -> list[Path]:
    """The split as RecBole atomic files, and the config files of the run (export's, then ours)."""
    from cdgraph.interop import export_recbole
    folder = export_recbole(split, work / "atomic", name="sportcloth", overwrite=True, prefix_items=True)
    items = split.data.num_items(TARGET) + 1  # RecBole adds [PAD] as item 0
    bench = {"use_gpu": False, "seed": SEED, "reproducibility": True, "state": "INFO",
             "show_progress": False, "saved": False, "checkpoint_dir": str(work / "run" / "saved"),
             "embedding_size": DIM, "n_layers": 3, "train_epochs": [f"BOTH:{epochs}"],
             "train_batch_size": 2 * BATCH,  # pointwise: 8,192 positives + 8,192 negatives per step
             "learner": "adam", "learning_rate": LR, "neg_sampling": {"uniform": 1},
             "eval_step": epochs, "stopping_step": epochs,
             "eval_args": {"split": {"RS": [0.8, 0.1, 0.1]}, "group_by": "user", "order": "RO", "mode": "full"},
             "metrics": ["Recall", "NDCG"], "topk": list(KS), "valid_metric": "NDCG@10", "metric_decimal_place": 6,
             "eval_batch_size": 1024 * items}  # 1,024 users a batch, as cdgraph's chunks
    config = work / "bench.yaml"
    # JSON is YAML: one key a line
    config.write_text("".join(f"{k}: {json.dumps(v)}\n" for k, v in bench.items()))
    return [folder / "recbole_cdr.yaml", config]


def run_peer(python: Path, src: Path, configs: list[Path], work: Path) -> tuple[dict, str]:
    """Run the driver in the peer environment; its result line and its whole log."""
    run_dir = work / "run"
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    cmd = [str(python), str(DRIVER), "BiTGCF", *map(str, configs)]
    try:
        proc = subprocess.run(cmd, cwd=run_dir, env=peer_env(src), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, timeout=PEER_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise PeerUnavailable(f"RecBole-CDR ran past {PEER_TIMEOUT_S} s") from None
    log = re.sub(r"\x1b\[[0-9;]*m", "", proc.stdout)
    (work / "peer.log").write_text(log)
    if proc.returncode:
        raise PeerUnavailable(f"RecBole-CDR failed (log: {work / 'peer.log'}): {_one_line(log)}")
    line = [ln for ln in log.splitlines() if ln.startswith("PEER_RESULT ")]
    if not line:
        raise PeerUnavailable(f"RecBole-CDR printed no result (log: {work / 'peer.log'})")
    return json.loads(line[-1][len("PEER_RESULT "):]), log


def parse_log(log: str) -> tuple[list[float], list[float]]:
    """Seconds of each training epoch and of each validation, from RecBole's log lines."""
    train = [float(s) for s in re.findall(r"epoch \d+ training \[time: ([\d.]+)s", log)]
    valid = [float(s) for s in re.findall(r"epoch \d+ evaluating \[time: ([\d.]+)s", log)]
    return train, valid


def split_sizes(split) -> dict:
    """Our parts' sizes, as the driver reports RecBole's."""
    return {"source_train": sum(len(f) for d, f in split.train.items() if d != TARGET),
            "target_train": len(split.train[TARGET]), "valid": len(split.valid), "test": len(split.test),
            "valid_users": int(split.valid["user"].nunique()), "test_users": int(split.test["user"].nunique()),
            "target_items": int(split.data.num_items(TARGET))}


def measure_peer(args, split) -> dict:
    """Build or reuse the peer environment, run BiTGCF on our split, and collect its numbers."""
    python, src = ensure_peer_venv(args.peer_venv, args.peer_tarball)
    versions = peer_versions(python)
    versions["recbole-cdr"] = tarball_commit(args.peer_tarball)
    configs = write_peer_files(split, args.work, args.epochs)
    print("running RecBole-CDR BiTGCF", flush=True)
    result, log = run_peer(python, src, configs, args.work)
    train, valid = parse_log(log)
    if len(train) != args.epochs:
        raise PeerUnavailable(f"found {len(train)} training epochs in RecBole's log, expected {args.epochs}")
    ours = split_sizes(split)
    differ = {k: (v, result["sizes"].get(k)) for k, v in ours.items() if result["sizes"].get(k) != v}
    if differ:
        raise PeerUnavailable(f"RecBole built other parts than our split (ours, RecBole's): {differ}")
    return {"library": "RecBole-CDR", "model": "BiTGCF", "layers": 3, "dim": DIM, "epochs": args.epochs,
            "epoch_seconds": statistics.median(train), "all_epoch_seconds": train,
            "eval_seconds": result["test_eval_seconds"], "valid_eval_seconds": valid,
            "load_seconds": result["load_seconds"], "threads": result["threads"],
            "test": {m: result["test"][m.lower()] for m in METRICS}, "sizes": result["sizes"],
            "versions": versions, "log": str(args.work / "peer.log")}


# ------------------------------------------------------------------ report
def machine() -> dict:
    return {"cpu": _cpu_model(), "cores": os.cpu_count(), "system": platform.platform(),
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()]}


NOTES = [
    "Split: identical. RecBole reads our train/valid/test files through `benchmark_filename` and "
    "filters nothing; the part sizes it built were checked against ours.",
    "Test ranking: both rank all target items for every test user, with train *and* valid items "
    "masked (RecBole's full ranking masks the items of the earlier parts; cdgraph's `evaluate` masks "
    "train items only, so cdgraph's metrics in the table come from `cdgraph.evaluation.full_ranking` "
    "with train and valid masked; its own protocol's are in epoch.json). Recall@K divides by the "
    "user's test items and NDCG@K by the ideal DCG of min(test items, K) in both.",
    "Training: the same number of steps (9 per epoch), each with 8,192 target and 8,192 source "
    "positives and one uniform negative per positive that the user has not interacted with in "
    "training, in both. The models differ as the libraries implement BiTGCF: RecBole-CDR's is "
    "pointwise (binary cross-entropy, dropout 0.3, layer outputs L2-normalised and concatenated, "
    "reg_weight 1e-3 on the batch's embeddings); cdgraph's `bitgcf` uses BPR and fuses the domain "
    "views by attention. `lightgcn-joint` is another model: LightGCN on the joint graph, 4 layers, BPR. "
    "cdgraph's default model (`make_model(\"cdgraph\")`, GraphMix) is not measured: it also trains a "
    "target-only LightGCN and mixes the two by validation, so it has no single epoch to time.",
    "Evaluation batches: RecBole's `eval_batch_size` was set to 1,024 users x its item count (its "
    "default, 4,096 scores, would score one user at a time on 39k items); cdgraph scores 1,024 users "
    "a chunk. The evaluation seconds include computing the final embeddings (the peer's cached ones "
    "are dropped first) but not the validation pass. Neither library saves checkpoints.",
    "Epoch seconds exclude the validation; RecBole's are its own log's, cdgraph's its history's.",
]


def render(result: dict) -> str:
    """The markdown summary."""
    rows, peer = result["cdgraph"], result["peer"]
    lines = ["# Amazon Sport & Cloth: cdgraph and RecBole-CDR measured in the same run", "",
             f"Target cloth, split 8:1:1 per user at random (seed 0); {result['setting']['epochs']} epochs "
             f"each, Adam lr {LR}, 8,192 target + 8,192 source positives per step, dimension {DIM}; "
             f"one torch thread per process. Machine: {result['machine']['cpu']}, "
             f"{result['machine']['cores']} cores (load average at start "
             f"{result['machine']['load_average_at_start']}). Command: `{result['command']}`; "
             f"the whole run took {result['wall_seconds'] / 60:.1f} min.", "",
             "| library | model | layers | epoch s (median) | test evaluation s | "
             + " | ".join(METRICS) + " |", "|---" * (5 + len(METRICS)) + "|"]
    for r in rows + ([peer] if "error" not in peer else []):
        lines.append(f"| {r['library']} | {r['model']} | {r['layers']} | {r['epoch_seconds']:.2f} | "
                     f"{r['eval_seconds']:.2f} | " + " | ".join(f"{r['test'][m]:.4f}" for m in METRICS) + " |")
    lines.append("")
    if "error" in peer:
        lines += [f"RecBole-CDR not measured: {peer['error']}", ""]
    else:
        lines += ["RecBole-CDR BiTGCF against each cdgraph model (how many times longer it takes):", ""]
        for r in rows:
            lines.append(f"- `{r['model']}`: epoch {peer['epoch_seconds'] / r['epoch_seconds']:.1f}x, "
                         f"test evaluation {peer['eval_seconds'] / r['eval_seconds']:.1f}x")
        v = peer["versions"]
        lines += ["", f"RecBole-CDR environment: Python {v['python']}, torch {v['torch']}, recbole {v['recbole']}, "
                  f"numpy {v['numpy']}, pandas {v['pandas']}, scipy {v['scipy']}, scikit-learn "
                  f"{v['scikit-learn']}, RecBole-CDR {v['recbole-cdr']}. Its data loading and graph "
                  f"building took {peer['load_seconds']:.1f} s, its validation pass "
                  f"{', '.join(f'{s:.2f}' for s in peer['valid_eval_seconds'])} s."]
    c = result["cdgraph_versions"]
    done = rows + ([peer] if "error" not in peer else [])
    lines += ["", f"cdgraph environment: Python {c['python']}, torch {c['torch']}, numpy {c['numpy']}, "
              f"pandas {c['pandas']}, scipy {c['scipy']}. cdgraph's metrics with `evaluate`'s own mask "
              "(train items only): "
              + "; ".join(f"`{r['model']}` " + ", ".join(f"{m} {r['test_train_masked'][m]:.4f}" for m in METRICS)
                          for r in rows) + ".", "",
              "Epoch seconds, fastest and slowest: "
              + "; ".join(f"{r['model']} ({r['library']}) {min(r['all_epoch_seconds']):.2f}-"
                          f"{max(r['all_epoch_seconds']):.2f}" for r in done)
              + ". Load average (1, 5, 15 min) after each: "
              + "; ".join(f"{r['model']} {[round(x, 2) for x in r['load_average_after']]}" for r in done)
              + " (this run adds 1 on 2 cores; the rest is other jobs).", "", "## Protocol", ""]
    lines += [f"- {note}" for note in NOTES]
    return "\n".join(lines) + "\n"


def cdgraph_versions() -> dict:
    return {"python": platform.python_version(),
            **{p: importlib.metadata.version(p) for p in ("torch", "numpy", "pandas", "scipy")}}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=60, help="training epochs of every model (default 60)")
    parser.add_argument("--peer-venv", type=Path, default=CACHE / "recbole-cdr-venv",
                        help="RecBole-CDR's virtual environment, built there if missing or different")
    parser.add_argument("--peer-tarball", type=Path, default=TARBALL, help="the RecBole-CDR archive")
    parser.add_argument("--work", type=Path, default=CACHE / "epoch",
                        help="folder for the atomic files, the peer's config, run folder and log")
    parser.add_argument("--no-peer", action="store_true", help="measure cdgraph only")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "epoch",
                        help="results stem (.json and .md are added)")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main() -> None:
    args = parse_args()
    root = os.environ.get("CDGRAPH_DATA")
    if args.one:
        print(json.dumps(measure_cdgraph(args.one, root, args.epochs)))
        return
    from cdgraph.io.atomic import atomic_write_text
    started, load = time.perf_counter(), machine()
    rows = []
    for method in METHODS:
        rows.append({**run_cdgraph(method, args.epochs), "load_average_after": os.getloadavg()})
        print({k: rows[-1][k] for k in ("model", "epoch_seconds", "eval_seconds", "test")}, flush=True)
    peer: dict = {"error": "not run (--no-peer)"}
    if not args.no_peer:
        try:
            peer = {**measure_peer(args, load_split(root)), "load_average_after": os.getloadavg()}
            print({k: peer[k] for k in ("model", "epoch_seconds", "eval_seconds", "test")}, flush=True)
        except PeerUnavailable as exc:
            peer = {"error": str(exc)}
            print(f"RecBole-CDR not measured: {exc}", flush=True)
    result = {"command": " ".join(["OMP_NUM_THREADS=" + os.environ.get("OMP_NUM_THREADS", ""),
                                   "CDGRAPH_DATA=" + (root or ""), "python", "benchmarks/bench_epoch.py",
                                   *sys.argv[1:]]),
              "machine": load, "wall_seconds": time.perf_counter() - started,
              "setting": {"dataset": DATASET, "target": TARGET, "split": "ratio 0.8/0.1 per user, seed 0",
                          "epochs": args.epochs, "batch_positives": BATCH, "lr": LR, "dim": DIM, "ks": list(KS)},
              "cdgraph_versions": cdgraph_versions(), "cdgraph": rows, "peer": peer, "protocol": NOTES}
    atomic_write_text(args.out.with_suffix(".json"), json.dumps(result, indent=1) + "\n")
    md = render(result)
    atomic_write_text(args.out.with_suffix(".md"), md)
    print(md)


if __name__ == "__main__":
    main()
