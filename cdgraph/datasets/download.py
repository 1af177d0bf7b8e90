"""Find, verify and download dataset files under a local ``root``.

``root`` holds the upstream folder layout (``root/amazon_disencdr/sport_cloth/train.txt``,
...), so a copy made by hand, a read-only shared mirror and a download all look the same.
Files already in ``root`` are only read and checked against their sha256; a missing file
is fetched from its pinned upstream commit into a temporary file next to its destination,
checked, and moved into place with :func:`os.replace`, so that an interrupted or tampered
download leaves nothing behind.
"""
from __future__ import annotations

import hashlib
import http.client
import logging
import os
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Iterable

from tqdm.auto import tqdm

from cdgraph.datasets.catalog import FILES, upstream_url

log = logging.getLogger(__name__)

__all__ = ["ChecksumError", "DownloadError", "default_root", "ensure_files", "sha256_file"]

ENV_ROOT = "CDGRAPH_DATA"
#: Environment variable naming a base URL that serves the ``root`` layout (a private mirror).
ENV_URL = "CDGRAPH_DATA_URL"
#: Base URL serving the ``root`` layout; when set it wins over :data:`ENV_URL` and upstream.
base_url: str | None = None
RETRIES = 3
BACKOFF = 1.0  # seconds before the 2nd try; doubled for each further try
TIMEOUT = 30.0
MAX_BYTES = 64 * 2 ** 20  # no dataset file is larger; a longer response is refused
_CHUNK = 2 ** 20
_HASHES: dict[tuple, str] = {}


class ChecksumError(ValueError):
    """A file's bytes differ from the catalogued sha256."""


class DownloadError(OSError):
    """A file could not be fetched (offline, HTTP error, oversized response)."""


def default_root() -> Path:
    """``$CDGRAPH_DATA`` if set, else ``$XDG_CACHE_HOME/cdgraph`` (``~/.cache/cdgraph``)."""
    if os.environ.get(ENV_ROOT):
        return Path(os.environ[ENV_ROOT]).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "cdgraph"


def sha256_file(path: str | os.PathLike) -> str:
    """Hex sha256 of a file, remembered per (path, inode, size, mtime) within the process."""
    st = os.stat(path)
    key = (os.path.realpath(path), st.st_ino, st.st_size, st.st_mtime_ns)
    if key not in _HASHES:
        digest = hashlib.sha256()
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(_CHUNK), b""):
                digest.update(chunk)
        _HASHES[key] = digest.hexdigest()
    return _HASHES[key]


def file_url(path: str) -> str:
    """Where ``path`` (relative to root) is downloaded from."""
    base = base_url or os.environ.get(ENV_URL)
    return f"{base.rstrip('/')}/{path}" if base else upstream_url(path)


def ensure_files(paths: Iterable[str], root: str | os.PathLike | None = None,
                 download: bool = True, dataset: str = "") -> Path:
    """Check that every path exists under ``root`` with its catalogued sha256; fetch the missing.

    Returns:
        Path: the root used.

    Raises:
        ChecksumError: a file present in root (or just downloaded) has the wrong bytes.
        FileNotFoundError: files are missing and ``download`` is False.
        DownloadError: a missing file could not be fetched.
    """
    root = Path(root).expanduser() if root is not None else default_root()
    paths = list(paths)
    missing = [p for p in paths if not (root / p).is_file()]
    for p in paths:
        if p not in missing:
            _verify(root / p, FILES[p][1], dataset)
    if missing and not download:
        raise FileNotFoundError(
            f"Dataset {dataset!r}: {len(missing)} file(s) missing under root {str(root)!r}, e.g. "
            f"{missing[0]!r}, and download=False. Pass download=True, or copy the upstream layout "
            f"there (see cdgraph.datasets.info({dataset!r})['files']).")
    for p in missing:
        _fetch(p, root / p, dataset)
    return root


def _verify(path: Path, expected: str, dataset: str) -> None:
    actual = sha256_file(path)
    if actual != expected:
        raise ChecksumError(
            f"Dataset {dataset!r}: file {str(path)!r} has sha256 {actual}, expected {expected}. "
            f"It is not the pinned upstream file: remove or replace it (it was left untouched), "
            f"or point root / ${ENV_ROOT} at a verified copy.")


def _fetch(rel: str, dest: Path, dataset: str) -> None:
    size, expected = FILES[rel]
    url = file_url(rel)
    created = _makedirs(dest.parent, dataset)
    try:
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    except OSError as exc:
        _remove_dirs(created)
        raise DownloadError(f"Dataset {dataset!r}: cannot write {str(dest)!r} ({exc}). Pass a "
                            f"writable root= or set ${ENV_ROOT}.") from exc
    try:
        with os.fdopen(fd, "wb") as fh:
            actual = _stream(url, fh, min(size, MAX_BYTES), dataset, rel)
        if actual != expected:
            raise ChecksumError(
                f"Dataset {dataset!r}: download of {rel!r} from {url} has sha256 {actual}, expected "
                f"{expected}; it was discarded. The server sent other bytes than the pinned file.")
        os.replace(tmp, dest)
    except BaseException:
        _unlink(tmp)
        _remove_dirs(created)
        raise
    log.info("Dataset %r: downloaded %s (%d bytes, sha256 ok).", dataset, rel, size)


def _stream(url: str, fh, limit: int, dataset: str, rel: str) -> str:
    """Write ``url``'s body into ``fh`` (at most ``limit`` bytes) with retries; return its sha256."""
    last: Exception | None = None
    for attempt in range(RETRIES):
        if attempt:
            time.sleep(BACKOFF * 2 ** (attempt - 1))
            fh.seek(0)
            fh.truncate()
        digest, total = hashlib.sha256(), 0
        log.info("Dataset %r: fetching %s (try %d/%d).", dataset, url, attempt + 1, RETRIES)
        try:
            with urllib.request.urlopen(url, timeout=TIMEOUT) as resp:
                length = resp.headers.get("Content-Length")
                if length is not None and int(length) > limit:
                    raise DownloadError(f"Dataset {dataset!r}: {url} announces {length} bytes for "
                                        f"{rel!r}, more than its {limit}; refused.")
                bar = tqdm(total=int(length) if length else None, unit="B", unit_scale=True,
                           desc=rel.rsplit("/", 1)[-1], leave=False, disable=None)
                with bar:
                    for chunk in iter(lambda: resp.read(_CHUNK), b""):
                        total += len(chunk)
                        if total > limit:
                            raise DownloadError(f"Dataset {dataset!r}: {url} sent more than the {limit} "
                                                f"bytes of {rel!r}; refused.")
                        digest.update(chunk)
                        fh.write(chunk)
                        bar.update(len(chunk))
            return digest.hexdigest()
        except urllib.error.HTTPError as exc:
            if exc.code < 500 and exc.code != 429:
                raise DownloadError(f"Dataset {dataset!r}: {url} answered HTTP {exc.code} for "
                                    f"{rel!r}. {_offline_hint()}") from exc
            last = exc
        except (urllib.error.URLError, http.client.HTTPException, TimeoutError, ConnectionError) as exc:
            last = exc
        log.warning("Dataset %r: fetching %s failed: %s", dataset, url, last)
    raise DownloadError(f"Dataset {dataset!r}: could not download {rel!r} from {url} after {RETRIES} "
                        f"tries ({last}). {_offline_hint()}") from last


def _offline_hint() -> str:
    return (f"If this machine is offline, copy the dataset files (upstream layout, e.g. "
            f"amazon_disencdr/sport_cloth/train.txt) to a local folder and pass root=<folder> "
            f"or set ${ENV_ROOT}=<folder>; a private mirror URL can be set with ${ENV_URL}.")


def _makedirs(folder: Path, dataset: str) -> list[Path]:
    """Create ``folder`` and its missing parents; return the ones created, deepest last."""
    created = []
    for parent in reversed([folder, *folder.parents]):
        if not parent.exists():
            try:
                parent.mkdir()
            except OSError as exc:
                _remove_dirs(created)
                raise DownloadError(f"Dataset {dataset!r}: cannot create {str(parent)!r} ({exc}). "
                                    f"Pass a writable root= or set ${ENV_ROOT}.") from exc
            created.append(parent)
    return created


def _remove_dirs(created: list[Path]) -> None:
    for folder in reversed(created):
        try:
            folder.rmdir()
        except OSError:
            break


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
