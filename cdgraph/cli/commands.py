"""``cdgraph datasets``, ``evaluate``, ``recommend`` and ``export``."""
from __future__ import annotations


import argparse
import inspect
import io
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cdgraph.cli import pipeline, report, rundir
from cdgraph.cli.config import CLIError
from cdgraph.datasets import available, default_root, info
from cdgraph.datasets.catalog import FILES, spec
from cdgraph.datasets.download import ensure_files
from cdgraph.interop import export_recbole
from cdgraph.models import MODELS, make_model


# ------------------------------------------------------------------ datasets
def datasets_list(args: argparse.Namespace) -> int:
    root = default_root()
    rows = []
    for name in available():
        meta = info(name)
        protocol = meta["protocol"]
        rows.append({"name": name, "domains": " & ".join(meta["domains"]),
                     "split": protocol.get("split", ""),
                     "protocol": f"1 + {meta['num_negatives']} sampled",
                     "metrics": ", ".join(protocol.get("metrics", [])),
                     "size_MB": round(sum(FILES[f][0] for f in meta["files"]) / 1e6, 1),
                     "local": "yes" if all((root / f).is_file() for f in meta["files"]) else "no"})
    print(report.text_table(pd.DataFrame(rows), index=False, digits=1))
    print(f"\nroot: {root}  ('cdgraph datasets info NAME' for details, "
          f"'cdgraph datasets download NAME' to fetch)")
    return 0


def datasets_info(args: argparse.Namespace) -> int:
    meta = info(args.name)
    meta["size_bytes"] = sum(FILES[f][0] for f in meta["files"])
    if args.json:
        print(json.dumps(meta, indent=2))
        return 0
    for key, value in meta.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k}={v}" for k, v in value.items())
        elif isinstance(value, list):
            value = ", ".join(map(str, value))
        print(f"{key:>15}: {value}")
    return 0


def datasets_download(args: argparse.Namespace) -> int:
    s = spec(args.name)
    root = ensure_files(s.files, root=args.root, download=True, dataset=s.name)
    print(f"{s.name}: {len(s.files)} file(s) present and verified under {root}")
    return 0


# ------------------------------------------------------------------ models
def models_list(args: argparse.Namespace) -> int:
    for name in MODELS.names():
        doc = (inspect.getdoc(MODELS.get(name)) or "").split("\n\n")[0].replace("\n", " ")
        options = {k: v for k, v in make_model(name, "target").config().items() if k != "target"}
        print(f"{name}\n    {doc}")
        print("    " + (", ".join(f"{k}={v!r}" for k, v in options.items()) or "(no options)"))
    print("\nOptions go into [model] of a config file, or --dim, --layers, --encoder, ... and "
          "--option KEY=VALUE on the command line.")
    return 0


# ------------------------------------------------------------------ evaluate
def evaluate(args: argparse.Namespace) -> int:
    folder, config = rundir.open_run(args.run_dir)
    data = pipeline.load_data(config)
    split = pipeline.make_split(config, data)
    model = pipeline.load_fitted(folder, config)
    protocols = (args.protocol,) if args.protocol else ("sampled", "full")
    metrics = pipeline.evaluate(model, split, config, protocols, k=args.k, num_negatives=args.num_negatives)
    if args.json:
        print(json.dumps(metrics, indent=2))
    else:
        print(report.text_table(report.metrics_frame(metrics, protocols)))
        print(f"\n{report.protocol_note(metrics)}")
    return 0


# ------------------------------------------------------------------ recommend
def raw_users(values: list[str], ids: pd.Index) -> list[Any]:
    """Command-line user ids (text) in the kind of the model's ids (integers or strings)."""
    if not pd.api.types.is_integer_dtype(ids.dtype):
        return list(values)
    out = []
    for value in values:
        if not re.fullmatch(r"\s*[+-]?\d+\s*", value):
            raise CLIError(f"User id {value!r} is not an integer, and this run's user ids are "
                           f"integers (e.g. {', '.join(map(str, ids[:3]))}).")
        out.append(int(value))
    return out


def recommend(args: argparse.Namespace) -> int:
    folder, config = rundir.open_run(args.run_dir)
    model = pipeline.load_fitted(folder, config)
    users = raw_users(args.user, model.data_.user_ids)
    recs = model.recommend(users, k=args.k, exclude_seen=not args.include_seen)
    if args.json:
        out = [{"user": _plain(user),
                "items": [_plain(i) for i in recs.loc[recs["user"] == user, "item"]],
                "scores": [float(s) for s in recs.loc[recs["user"] == user, "score"]]}
               for user in dict.fromkeys(users)]
        print(json.dumps(out, indent=2))
    else:
        print(report.text_table(recs[["user", "rank", "item", "score"]], index=False))
    return 0


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


# ------------------------------------------------------------------ export
def export(args: argparse.Namespace) -> int:
    if args.format == "parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise CLIError("--format parquet needs pyarrow, which is not installed: "
                           "pip install pyarrow (or use --format npy).") from None
    folder, config = rundir.open_run(args.run_dir)
    out = Path(args.out).resolve() if args.out else folder / "export"
    data = split = None
    if args.recbole:
        data = pipeline.load_data(config)
        split = pipeline.make_split(config, data)
    model = pipeline.load_fitted(folder, config)
    if not hasattr(model, "embeddings"):
        if not args.recbole:
            raise CLIError(f"Model {config['model']['name']!r} has no embeddings to export; "
                           f"--recbole still exports its split.")
        written = []
    else:
        written = _embeddings(model.embeddings(), out, args.format)
    if args.recbole:
        name = re.sub(r"[^\w.-]+", "-", config["data"].get("dataset") or "cdgraph")
        path = export_recbole(split, out / "recbole", name=name, overwrite=True)
        written.append(Path(path))
    for path in written:
        print(path)
    return 0


def _embeddings(tables: dict[str, pd.DataFrame], out: Path, fmt: str) -> list[Path]:
    """Per node type: ``<type>_embeddings.npy`` and ``<type>_ids.csv`` (row i = id of row i),
    or ``<type>_embeddings.parquet`` with an ``id`` column and ``e0..e<d-1>``."""
    written = []
    for node_type, frame in tables.items():
        safe = re.sub(r"[^\w.-]+", "-", node_type)
        if fmt == "npy":
            buffer = io.BytesIO()
            np.save(buffer, frame.to_numpy(np.float32))
            written.append(rundir.write_bytes(out / f"{safe}_embeddings.npy", buffer.getvalue()))
            written.append(rundir.write_csv(out / f"{safe}_ids.csv", pd.DataFrame({"id": frame.index})))
        else:
            table = pd.DataFrame(frame.to_numpy(np.float32), columns=[f"e{i}" for i in range(frame.shape[1])])
            table.insert(0, "id", frame.index.to_numpy())
            buffer = io.BytesIO()
            table.to_parquet(buffer, index=False)
            written.append(rundir.write_bytes(out / f"{safe}_embeddings.parquet", buffer.getvalue()))
    return written
