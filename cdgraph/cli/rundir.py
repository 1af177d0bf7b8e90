"""Run directories: one new folder per run, every file in it written atomically.

A run directory is named ``<YYYYmmdd-HHMMSS>-<model>-<6 hex digits>`` and created with
``os.makedirs(exist_ok=False)``, so that two runs started at the same second never
share one (a collision draws a new suffix). Files are written to a temporary file in
the same folder and renamed over their name, so that a reader never sees half a file.
"""
from __future__ import annotations

import io
import json
import os
import re
import secrets
import time
from pathlib import Path
from typing import Any

import pandas as pd

from cdgraph.io.atomic import atomic_write
from cdgraph.cli.config import CLIError, read

CONFIG = "config.toml"
HISTORY = "history.csv"
METRICS = "metrics.json"
MODEL = "model.pt"
CHECKPOINT = "checkpoint.pt"
REPORT = "report.md"
PLOTS = "plots"


def create(out: str | os.PathLike, label: str) -> Path:
    """Make and return a new, empty run directory under ``out``."""
    out = Path(out)
    safe = re.sub(r"[^\w.-]+", "-", label).strip("-") or "run"
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CLIError(f"Cannot create the output folder {str(out)!r}: {exc.strerror or exc}.") from None
    for _ in range(100):
        folder = out / f"{time.strftime('%Y%m%d-%H%M%S')}-{safe}-{secrets.token_hex(3)}"
        try:
            os.makedirs(folder, exist_ok=False)
            return folder
        except FileExistsError:
            continue
    raise CLIError(f"Could not create a new run directory under {str(out)!r}.")  # pragma: no cover


def write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to a temporary file next to ``path``, then rename it over ``path``."""
    return atomic_write(path, lambda fh: fh.write(data))


def write_text(path: str | os.PathLike, text: str) -> Path:
    return write_bytes(path, text.encode("utf-8"))


def write_json(path: str | os.PathLike, obj: Any) -> Path:
    return write_text(path, json.dumps(obj, indent=2, default=_plain) + "\n")


def write_csv(path: str | os.PathLike, frame: pd.DataFrame, index: bool = False) -> Path:
    buffer = io.StringIO()
    frame.to_csv(buffer, index=index)
    return write_text(path, buffer.getvalue())


def _plain(value: Any) -> Any:
    """numpy scalars and the like as plain JSON values."""
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


def open_run(run_dir: str | os.PathLike) -> tuple[Path, dict[str, dict[str, Any]]]:
    """The run directory and its resolved configuration; CLIError when it is not one."""
    folder = Path(run_dir)
    if not folder.is_dir():
        raise CLIError(f"Run directory {str(folder)!r} does not exist.")
    if not (folder / CONFIG).is_file():
        raise CLIError(f"{str(folder)!r} is not a run directory: it has no {CONFIG} "
                       f"(make one with 'cdgraph train').")
    return folder, read(folder / CONFIG)
