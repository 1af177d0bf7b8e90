"""The disk cache of text embeddings: one ``.npz`` file per (encoder, settings, texts).

An entry is keyed by the sha256 of the encoder's class, its :meth:`~TextEncoder.settings`
(which name the package versions behind it) and the texts, in order. It is written
atomically and holds the embeddings, the key and the sha256 of the embeddings' bytes; it is
read with ``allow_pickle=False``, and an entry that is unreadable, for other texts, of the
wrong shape or dtype, or whose bytes do not match its checksum is recomputed, never trusted.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from cdgraph.io.atomic import atomic_write

log = logging.getLogger(__name__)

FORMAT = 1


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/cdgraph/text-embeddings`` (``~/.cache/cdgraph/text-embeddings``).

    This is the ``text-embeddings`` folder of the dataset root's default location, but it
    does not follow ``$CDGRAPH_DATA``: that may name a read-only mirror of the datasets,
    while this cache must be writable.
    """
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "cdgraph" / "text-embeddings"


def cache_key(encoder: Any, settings: dict[str, Any], texts: list[str]) -> str:
    """Hex sha256 of the encoder's class, its settings and the texts (in order)."""
    identity = {"format": FORMAT, "class": f"{type(encoder).__module__}.{type(encoder).__qualname__}",
                "settings": settings}
    try:
        head = json.dumps(identity, sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{encoder!r}: settings() must return JSON-serialisable values: {exc}") from None
    digest = hashlib.sha256(head.encode("utf-8") + b"\0")
    digest.update(len(texts).to_bytes(8, "little"))
    for text in texts:
        data = text.encode("utf-8", "surrogatepass")
        digest.update(len(data).to_bytes(8, "little") + data)
    return digest.hexdigest()


def entry_path(folder: str | os.PathLike, label: str, key: str) -> Path:
    """Where the entry ``key`` of an encoder labelled ``label`` lives."""
    slug = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-") or "encoder"
    return Path(folder).expanduser() / f"{slug}-{key[:32]}.npz"


def array_sha256(arr: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(arr).tobytes()).hexdigest()


def read_entry(path: Path, key: str, rows: int) -> np.ndarray | None:
    """The cached embeddings at ``path`` if it is a sound entry for ``key`` with ``rows`` rows;
    None when it is absent, and None with a warning when it is damaged or stale."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as entry:
            embeddings, stored_key, stored_sha = entry["embeddings"], str(entry["key"]), str(entry["sha256"])
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        log.warning("Text embedding cache entry %s is unreadable (%s: %s); recomputing it.",
                    path, type(exc).__name__, exc)
        return None
    problem = entry_problem(embeddings, stored_key, stored_sha, key, rows)
    if problem:
        log.warning("Text embedding cache entry %s is damaged or stale (%s); recomputing it.", path, problem)
        return None
    return np.ascontiguousarray(embeddings)


def entry_problem(embeddings: np.ndarray, stored_key: str, stored_sha: str, key: str,
                  rows: int) -> str | None:
    """What is wrong with a cache entry read back, or None when it can be used."""
    if stored_key != key:
        return f"its key {stored_key[:12]}... is not {key[:12]}..."
    if embeddings.dtype != np.float32 or embeddings.ndim != 2 or embeddings.shape[0] != rows:
        return f"it holds {embeddings.dtype} {embeddings.shape}, not float32 with {rows} rows"
    if array_sha256(embeddings) != stored_sha:
        return "its bytes do not match its checksum"
    if not np.isfinite(embeddings).all():
        return "it holds NaN or infinite values"
    return None


def write_entry(path: Path, key: str, embeddings: np.ndarray) -> bool:
    """Store ``embeddings`` at ``path`` atomically; a folder that cannot be written (read-only,
    full) is a warning, not an error: the embeddings are still returned to the caller."""
    def write(fh: Any) -> None:
        np.savez(fh, embeddings=embeddings, key=np.array(key), sha256=np.array(array_sha256(embeddings)))

    try:
        atomic_write(path, write)
    except OSError as exc:
        log.warning("Could not cache text embeddings at %s (%s); pass cache_dir= a writable folder, or "
                    "cache=False.", path, exc)
        return False
    return True
