"""The disk cache of cdgraph.text.encode: hits, keys, damaged entries, where it lives."""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from cdgraph import text
from cdgraph.text.cache import array_sha256

TEXTS = ["green tea matcha powder", "cast iron skillet", "", "organic matcha latte mix"]


def entries(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.npz"))


def test_same_texts_are_read_back_not_recomputed(tmp_path, counting):
    first = text.encode(TEXTS, counting, name="count-v1", cache_dir=tmp_path)
    again = text.encode(list(TEXTS), counting, name="count-v1", cache_dir=tmp_path)
    assert counting.calls == 1
    assert len(entries(tmp_path)) == 1
    np.testing.assert_array_equal(first, again)
    assert again.dtype == np.float32 and again.flags.c_contiguous


@pytest.mark.parametrize("texts, options", [
    (["green tea matcha powder", "cast iron pan", "", "organic matcha latte mix"], {}),  # one text edited
    (list(reversed(TEXTS)), {}),                                                        # order
    (TEXTS[:3], {}),                                                                    # one fewer
    (TEXTS, {"name": "count-v2"}),                                                      # another identity
    (TEXTS, {"dim": 4}),                                                                # another setting
])
def test_a_change_makes_a_new_entry(tmp_path, counting, texts, options):
    text.encode(TEXTS, counting, name="count-v1", cache_dir=tmp_path)
    out = text.encode(texts, counting, **{"name": "count-v1", **options}, cache_dir=tmp_path)
    assert counting.calls == 2
    assert len(entries(tmp_path)) == 2
    assert out.shape == (len(texts), 4)


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def flip_middle_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def garbage(path: Path) -> None:
    path.write_bytes(b"not a cache entry at all")


def tampered_values(path: Path) -> None:  # a sound zip whose embeddings no longer match the checksum
    with np.load(path) as entry:
        parts = {name: entry[name] for name in entry.files}
    parts["embeddings"] = parts["embeddings"] + 1
    np.savez(path, **parts)


def other_key(path: Path) -> None:  # an entry for other texts under this name, checksum consistent
    with np.load(path) as entry:
        parts = {name: entry[name] for name in entry.files}
    parts["key"] = np.array("0" * 64)
    np.savez(path, **parts)


def wrong_shape(path: Path) -> None:
    emb = np.zeros((2, 4), dtype=np.float32)
    with np.load(path) as entry:
        key = entry["key"]
    np.savez(path, embeddings=emb, key=key, sha256=np.array(array_sha256(emb)))


@pytest.mark.parametrize("damage", [truncate, flip_middle_byte, garbage, tampered_values, other_key,
                                    wrong_shape])
def test_a_damaged_entry_is_recomputed_and_replaced(tmp_path, counting, caplog, damage):
    expected = text.encode(TEXTS, counting, name="count-v1", cache_dir=tmp_path)
    [path] = entries(tmp_path)
    damage(path)
    with caplog.at_level(logging.WARNING, logger="cdgraph.text.cache"):
        out = text.encode(TEXTS, counting, name="count-v1", cache_dir=tmp_path)
    assert counting.calls == 2
    assert "recomputing" in caplog.text
    np.testing.assert_array_equal(out, expected)
    text.encode(TEXTS, counting, name="count-v1", cache_dir=tmp_path)
    assert counting.calls == 2  # the rewritten entry is sound


@pytest.mark.parametrize("options", [{}, {"cache": False}])
def test_no_cache_without_identity_or_when_off(tmp_path, counting, options):
    named = {"name": "count-v1"} if options else {}
    for _ in range(2):
        text.encode(TEXTS, counting, cache_dir=tmp_path, **named, **options)
    assert counting.calls == 2
    assert entries(tmp_path) == []


def test_unwritable_cache_warns_and_still_returns(tmp_path, counting, caplog):
    blocker = tmp_path / "a-file"
    blocker.write_text("in the way of the cache folder")
    with caplog.at_level(logging.WARNING, logger="cdgraph.text.cache"):
        out = text.encode(TEXTS, counting, name="count-v1", cache_dir=blocker / "cache")
    assert out.shape == (4, 4)
    assert "Could not cache" in caplog.text


def test_default_cache_dir_is_writable_home_cache_not_the_data_mirror(tmp_path, monkeypatch):
    monkeypatch.setenv("CDGRAPH_DATA", str(tmp_path / "read-only-mirror"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert text.default_cache_dir() == tmp_path / "cache" / "cdgraph" / "text-embeddings"


def test_registered_encoder_is_cached_under_its_name(tmp_path):
    texts = ["matcha tea", "green tea", "iron skillet", "cast iron pan"]
    out = text.encode(texts, "tfidf", dim=3, cache_dir=tmp_path)
    [path] = entries(tmp_path)
    assert path.name.startswith("tfidf-")
    with np.load(path, allow_pickle=False) as entry:
        np.testing.assert_array_equal(entry["embeddings"], out)
