"""Round trips through RecBole atomic files (cdgraph.interop.recbole)."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cdgraph import CrossDomainData
from cdgraph.interop import export_recbole, read_recbole
from cdgraph.data.split import cold_start, leave_one_out, predefined


def make_data(ids: str = "int", rating: bool = True, time: bool = True, seed: int = 0) -> CrossDomainData:
    """Two (or three) small domains over 30 users, 8 to 12 rows per user; seeded."""
    rng = np.random.default_rng(seed)
    frames = {}
    for d, n_items in (("books", 15), ("movies", 12), ("music", 10)):
        users = np.repeat(np.arange(30), 6)
        items = np.concatenate([rng.choice(n_items, 6, replace=False) for _ in range(30)])
        frame = pd.DataFrame({"user": users, "item": items})
        if ids == "str":
            frame["user"] = [f"ü{u:03d}" for u in users]  # unicode, leading zeros
            frame["item"] = [f"{d[0]}é-{i}" if i % 3 else f"{i:02d}" for i in items]
        if rating:
            frame["rating"] = rng.integers(1, 11, len(frame)) / 2
        if time:
            frame["time"] = rng.permutation(len(frame)) * 1000 + 1_600_000_000
        frames[d] = frame
    return CrossDomainData.from_frames(frames, rating="rating" if rating else None,
                                       time="time" if time else None)


def raw_multiset(frame: pd.DataFrame) -> Counter:
    cols = [c for c in ("user", "item", "rating", "time") if c in frame]
    return Counter(map(tuple, frame[cols].astype(object).itertuples(index=False, name=None)))


def pairs(split, part: str) -> set:
    raw = split.raw(part)
    return set(zip(raw["user"].tolist(), raw["item"].tolist()))


@pytest.mark.parametrize("ids", ["int", "str"])
@pytest.mark.parametrize("extras", [True, False])
def test_data_round_trip(tmp_path: Path, ids: str, extras: bool) -> None:
    data = make_data(ids, rating=extras, time=extras)
    folder = export_recbole(data, tmp_path / "out")
    assert (folder / "cdgraph_books" / "cdgraph_books.inter").is_file()
    header = (folder / "cdgraph_books" / "cdgraph_books.inter").read_text(encoding="utf-8").split("\n")[0]
    expected = "user_id:token\titem_id:token" + ("\trating:float\ttimestamp:float" if extras else "")
    assert header == expected
    back = read_recbole(folder)
    assert back.domains == data.domains and not back.has_split
    assert back.user_ids.dtype == data.user_ids.dtype
    for d in data.domains:
        assert back.item_ids[d].dtype == data.item_ids[d].dtype
        assert raw_multiset(back.interactions(d, raw=True)) == raw_multiset(data.interactions(d, raw=True))
    yaml = (folder / "recbole_cdr.yaml").read_text(encoding="utf-8")
    for key in ("source_domain:", "target_domain:", "dataset: \"cdgraph_movies\"", "USER_ID_FIELD: user_id"):
        assert key in yaml


def test_read_without_manifest_infers_kinds(tmp_path: Path) -> None:
    data = make_data("int")
    folder = export_recbole(data, tmp_path / "out")
    (folder / "cdgraph.cdgraph.json").unlink()
    back = read_recbole({d: folder / f"cdgraph_{d}" / f"cdgraph_{d}.inter" for d in ("books", "music")})
    assert back.domains == ["books", "music"]
    assert pd.api.types.is_integer_dtype(back.user_ids.dtype)
    assert raw_multiset(back.interactions("music", raw=True)) == raw_multiset(data.interactions("music", raw=True))


@pytest.mark.parametrize("ids", ["int", "str"])
@pytest.mark.parametrize("kind", ["leave_one_out", "cold_start"])
def test_split_round_trip(tmp_path: Path, ids: str, kind: str) -> None:
    data = make_data(ids)
    split = leave_one_out(data, "movies", seed=1) if kind == "leave_one_out" \
        else cold_start(data, "movies", fraction=0.3, seed=1)
    folder = export_recbole(split, tmp_path / "out", name="x", prefix_items=(ids == "int"))
    target = folder / "x_movies"
    for p in ("train", "valid", "test"):
        assert (target / f"x_movies.{p}.inter").is_file()
    assert not (folder / "x_books" / "x_books.train.inter").exists()
    assert "benchmark_filename: [train, valid, test]" in (folder / "recbole_cdr.yaml").read_text(encoding="utf-8")
    back = read_recbole(folder, name="x")
    assert back.has_split
    again = predefined(back, "movies")
    for p in ("train", "valid", "test"):
        assert pairs(again, p) == pairs(split, p)
    for d in split.sources:
        got = back.interactions(d, raw=True)
        assert raw_multiset(got.drop(columns="part")) == raw_multiset(
            split.train[d].assign(user=data.user_ids[split.train[d]["user"].to_numpy()],
                                  item=data.item_ids[d][split.train[d]["item"].to_numpy()]))


def test_integer_looking_string_ids_stay_strings(tmp_path: Path) -> None:
    frames = {d: pd.DataFrame({"user": ["1", "2", "3"], "item": ["10", "11", "12"]}) for d in ("p", "q")}
    back = read_recbole(export_recbole(CrossDomainData.from_frames(frames), tmp_path / "out"))
    assert list(back.user_ids) == ["1", "2", "3"] and list(back.item_ids["q"]) == ["10", "11", "12"]


def test_prefix_items_written(tmp_path: Path) -> None:
    folder = export_recbole(make_data("int"), tmp_path / "out", prefix_items=True)
    row = (folder / "cdgraph_books" / "cdgraph_books.inter").read_text(encoding="utf-8").split("\n")[1]
    assert row.split("\t")[1].startswith("books:")


def test_no_temp_files_left(tmp_path: Path) -> None:
    data = make_data("str")
    export_recbole(leave_one_out(data, "books"), tmp_path / "out")
    export_recbole(data, tmp_path / "out", overwrite=True)
    names = [p.name for p in tmp_path.rglob("*")]
    assert not [n for n in names if n.endswith(".tmp") or n.startswith(".")]
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
    # overwriting a split export with plain data removes the stale benchmark files
    assert not (tmp_path / "out" / "cdgraph_books" / "cdgraph_books.train.inter").exists()
    assert not read_recbole(tmp_path / "out").has_split


def test_refuses_non_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="not empty"):
        export_recbole(make_data(), tmp_path / "out")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["keep.txt"]
    export_recbole(make_data(), tmp_path / "out", overwrite=True)
    assert (tmp_path / "out" / "keep.txt").read_text() == "mine"
    empty = tmp_path / "empty"
    empty.mkdir()
    export_recbole(make_data(), empty)  # an empty folder is fine
    assert (empty / "recbole_cdr.yaml").is_file()


def test_bad_tokens_refused(tmp_path: Path) -> None:
    frames = {d: pd.DataFrame({"user": ["a", "b\tc"], "item": ["x", "y"]}) for d in ("p", "q")}
    with pytest.raises(ValueError, match="tab"):
        export_recbole(CrossDomainData.from_frames(frames), tmp_path / "out")
    assert not (tmp_path / "out").exists() and not list(tmp_path.iterdir())


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / f"cdgraph_{name}" / f"cdgraph_{name}.inter"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


GOOD = "user_id:token\titem_id:token\n1\t2\n3\t4\n"


@pytest.mark.parametrize("text, where", [
    ("user_id\titem_id:token\n1\t2\n", "line 1"),                       # no type
    ("user_id:tok\titem_id:token\n1\t2\n", "line 1"),                   # unknown type
    ("user_id:token\titem:token\n1\t2\n", "line 1"),                    # no item field
    ("user_id:float\titem_id:token\n1\t2\n", "line 1"),                 # id not a token
    ("", "line 1"),                                                      # empty file
    ("user_id:token\titem_id:token\n1\t2\n3\t4\t5\n", "line 3"),        # extra value
    ("user_id:token\titem_id:token\n1\t2\n\n3\n", "line 4"),            # missing value
    ("user_id:token\titem_id:token\n1\t\n", "line 2"),                  # empty id
    ("user_id:token\titem_id:token\trating:float\n1\t2\t5\n1\t3\tfive\n", "line 3"),
])
def test_malformed_files(tmp_path: Path, text: str, where: str) -> None:
    write(tmp_path, "a", GOOD)
    bad = write(tmp_path, "b", text)
    with pytest.raises(ValueError) as info:
        read_recbole(tmp_path)
    assert str(bad) in str(info.value) and where in str(info.value)


def test_incomplete_benchmark_and_missing_file(tmp_path: Path) -> None:
    first = write(tmp_path, "a", GOOD)
    path = write(tmp_path, "b", GOOD)
    (path.parent / "cdgraph_b.train.inter").write_text(GOOD, encoding="utf-8")
    with pytest.raises(ValueError, match="incomplete"):
        read_recbole(tmp_path)
    with pytest.raises(ValueError, match="does not exist"):
        read_recbole({"a": first, "c": tmp_path / "nope.inter"})
