"""Checksums, atomic downloads from a local server, offline errors and the default root."""
from __future__ import annotations

import shutil
import socket
from pathlib import Path

import pytest

from cdgraph import datasets
from cdgraph.datasets import catalog, download

NAME = "douban-book-music"  # the smallest pair: two files, 1.9 MB
FILES = datasets.info(NAME)["files"]


def _copy(mirror: Path, dest: Path) -> None:
    for rel in FILES:
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(mirror / rel, dest / rel)


def _tamper(path: Path) -> None:
    raw = bytearray(path.read_bytes())
    raw[10] = ord("9") if raw[10] != ord("9") else ord("8")
    path.write_bytes(bytes(raw))


def _files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


@pytest.fixture
def fast_retries(monkeypatch):
    monkeypatch.setattr(download, "BACKOFF", 0.01)
    monkeypatch.setattr(download, "TIMEOUT", 5.0)


@pytest.mark.realdata
def test_tampered_file_in_root_is_refused_and_kept(mirror, tmp_path):
    _copy(mirror, tmp_path)
    bad = tmp_path / FILES[1]
    _tamper(bad)
    with pytest.raises(ValueError) as err:
        datasets.load(NAME, root=tmp_path)
    message = str(err.value)
    assert str(bad) in message and catalog.FILES[FILES[1]][1] in message
    assert download.sha256_file(bad) in message
    assert bad.exists()  # a user's file is never deleted


@pytest.mark.realdata
def test_download_from_server(mirror, tmp_path, http_root, monkeypatch, fast_retries):
    served, url, requests = http_root
    _copy(mirror, served)
    monkeypatch.setattr(download, "base_url", url)
    root = tmp_path / "root"
    data = datasets.load(NAME, root=root)
    assert data.num_users == 2216 and sorted(requests) == sorted(f"/{f}" for f in FILES)
    assert sorted(p.relative_to(root).as_posix() for p in _files(root)) == sorted(FILES)
    datasets.load(NAME, root=root)  # second load: files verified locally, no request
    assert len(requests) == len(FILES)


@pytest.mark.realdata
@pytest.mark.parametrize("how", ["changed", "longer"])
def test_tampered_download_leaves_nothing(mirror, tmp_path, http_root, monkeypatch, fast_retries, how):
    served, url, _ = http_root
    _copy(mirror, served)
    first = served / FILES[0]
    if how == "changed":
        _tamper(first)
    else:
        first.write_bytes(first.read_bytes() + b"1\t2\t3\n")
    monkeypatch.setattr(download, "base_url", url)
    root = tmp_path / "root"
    root.mkdir()
    with pytest.raises((download.ChecksumError, download.DownloadError)) as err:
        datasets.load(NAME, root=root)
    assert FILES[0] in str(err.value)
    if how == "changed":
        assert catalog.FILES[FILES[0]][1] in str(err.value)
        assert download.sha256_file(first) in str(err.value)
    assert list(root.rglob("*")) == []


def test_offline_message_says_how_to_use_a_local_copy(tmp_path, monkeypatch, fast_retries):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv(download.ENV_URL, f"http://127.0.0.1:{port}")
    with pytest.raises(download.DownloadError, match="CDGRAPH_DATA") as err:
        datasets.load(NAME, root=tmp_path / "root")
    assert "offline" in str(err.value) and FILES[0] in str(err.value)
    assert not (tmp_path / "root").exists()


def test_missing_files_without_download(tmp_path):
    with pytest.raises(FileNotFoundError, match="download=False"):
        datasets.load(NAME, root=tmp_path, download=False)
    assert list(tmp_path.iterdir()) == []


def test_default_root(monkeypatch, tmp_path):
    monkeypatch.setenv("CDGRAPH_DATA", str(tmp_path / "data"))
    assert download.default_root() == tmp_path / "data"
    monkeypatch.delenv("CDGRAPH_DATA")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert download.default_root() == tmp_path / "cache" / "cdgraph"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert download.default_root() == Path.home() / ".cache" / "cdgraph"
