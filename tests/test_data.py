"""CrossDomainData: building, id maps, summary, duplicates, reading files, input validation."""
from __future__ import annotations

import copy
import logging

import numpy as np
import pandas as pd
import pytest

from cdgraph import CrossDomainData


def make_frames(seed: int = 0, ids: str = "int", n_users: int = 30, n_rows: int = 120
                ) -> dict[str, pd.DataFrame]:
    """Two domains with unique (user, item) pairs, ratings and distinct timestamps."""
    rng = np.random.default_rng(seed)
    frames = {}
    for k, domain in enumerate(("books", "movies")):
        frame = pd.DataFrame({"user": rng.integers(0, n_users, n_rows),
                              "item": rng.integers(0, 25, n_rows)}).drop_duplicates(ignore_index=True)
        frame["rating"] = rng.integers(1, 6, len(frame)).astype(float)
        frame["ts"] = rng.permutation(len(frame)) * 10 + k
        if ids == "str":
            frame["user"] = "u" + frame["user"].astype(str)
            frame["item"] = f"{domain[0]}" + frame["item"].astype(str)
        frames[domain] = frame
    return frames


def hand_made() -> dict[str, pd.DataFrame]:
    return {"a": pd.DataFrame({"user": [1, 2, 3], "item": ["x", "x", "y"]}),
            "b": pd.DataFrame({"user": [2, 3, 4, 4], "item": ["p", "p", "p", "q"]})}


# ------------------------------------------------------------------ building
@pytest.mark.parametrize("ids", ["int", "str"])
@pytest.mark.parametrize("seed", [0, 1])
def test_index_maps_round_trip_raw_ids(ids: str, seed: int) -> None:
    frames = make_frames(seed, ids)
    data = CrossDomainData.from_frames(frames, rating="rating", time="ts")
    assert data.domains == ["books", "movies"]
    all_users = pd.concat([f["user"] for f in frames.values()]).unique()
    assert data.num_users == len(all_users) and set(data.user_ids) == set(all_users)
    for domain, frame in frames.items():
        raw = data.interactions(domain, raw=True)
        pd.testing.assert_frame_equal(raw[["user", "item"]].reset_index(drop=True),
                                      frame[["user", "item"]].reset_index(drop=True), check_dtype=False,
                                      check_index_type=False)
        np.testing.assert_allclose(raw["rating"], frame["rating"])
        inter = data.interactions(domain)
        assert inter["user"].dtype == np.int64 and inter["item"].dtype == np.int64
        assert inter["item"].max() == data.num_items(domain) - 1
        np.testing.assert_array_equal(data.user_index(frame["user"].tolist()), inter["user"])
        np.testing.assert_array_equal(data.item_index(domain, frame["item"].tolist()), inter["item"])
        assert list(data.user_ids[data.user_index(frame["user"])]) == frame["user"].tolist()
        users = data.users(domain)
        np.testing.assert_array_equal(users, np.unique(inter["user"]))
    if ids == "int":
        assert data.user_ids.dtype == np.int64


def test_single_ids_and_shared_users() -> None:
    data = CrossDomainData.from_frames(hand_made())
    assert data.user_index(2).tolist() == [1]
    assert data.item_index("a", "y").tolist() == [1]  # one string id, not its characters
    np.testing.assert_array_equal(data.user_ids[data.shared_users("a", "b")], [2, 3])
    assert data.user_index([1, 99], missing="mark").tolist() == [0, -1]


def test_summary_on_hand_made_example() -> None:
    summary = CrossDomainData.from_frames(hand_made()).summary()
    assert list(summary.index) == ["a", "b"]
    assert summary.loc["a", ["users", "items", "interactions"]].tolist() == [3, 2, 3]
    assert summary.loc["b", ["users", "items", "interactions"]].tolist() == [3, 2, 4]
    assert summary.loc["a", "density"] == pytest.approx(3 / 6)
    assert summary.loc["b", "density"] == pytest.approx(4 / 6)
    assert summary.loc["a", "shared_b"] == summary.loc["b", "shared_a"] == 2
    assert summary.loc["a", "shared_a"] == 3 and summary.loc["b", "shared_b"] == 3


def test_caller_frames_are_not_modified() -> None:
    frames = make_frames(3, "str")
    frames["books"].index = pd.Index(np.arange(len(frames["books"]))[::-1] * 7, name="row")
    frames["movies"] = pd.concat([frames["movies"], frames["movies"].iloc[:5]])  # duplicates
    frames["movies"]["ts"] = pd.to_datetime(frames["movies"]["ts"], unit="s")
    frames["movies"]["rating"] = frames["movies"]["rating"].astype(np.float32)
    before = copy.deepcopy(frames)
    data = CrossDomainData.from_frames(frames, rating="rating", time="ts")
    for domain in frames:
        pd.testing.assert_frame_equal(frames[domain], before[domain], check_exact=True)
        assert frames[domain].dtypes.equals(before[domain].dtypes)
        assert frames[domain].index.equals(before[domain].index)
    out = data.interactions("books")  # a copy: editing it leaves the data alone
    out.loc[0, "user"] = 10 ** 6
    assert data.interactions("books").loc[0, "user"] != 10 ** 6


def test_index_of_the_frames_is_ignored() -> None:
    """A sliced frame keeps its RangeIndex offset; rows must still match by position."""
    frames = make_frames(4)
    sliced = {d: f.iloc[5:] for d, f in frames.items()}
    data = CrossDomainData.from_frames(sliced, rating="rating")
    for domain, frame in sliced.items():
        raw = data.interactions(domain, raw=True)
        assert raw["user"].tolist() == frame["user"].tolist()
        assert raw["item"].tolist() == frame["item"].tolist()


@pytest.mark.parametrize("with_time", [True, False])
def test_duplicates_collapsed_keeping_latest(with_time: bool, caplog: pytest.LogCaptureFixture) -> None:
    a = pd.DataFrame({"user": [1, 1, 2, 1, 2, 3, 1],
                      "item": [7, 7, 7, 8, 7, 7, 7],
                      "rating": [1.0, 2.0, 3.0, 4.0, 5.0, 1.0, 3.0],
                      "ts": [50, 90, 10, 20, 5, 1, 70]})
    b = pd.DataFrame({"user": [1, 2], "item": [0, 0], "rating": [1.0, 1.0], "ts": [0, 0]})
    with caplog.at_level(logging.INFO, logger="cdgraph.data.interactions"):
        data = CrossDomainData.from_frames({"a": a, "b": b}, rating="rating",
                                           time="ts" if with_time else None)
    assert "'a': collapsed 3 duplicate" in caplog.text and "'b'" not in caplog.text
    got = data.interactions("a", raw=True)
    assert len(got) == 4 and not got.duplicated(["user", "item"]).any()
    kept = dict(zip(zip(got["user"], got["item"]), got["rating"]))
    if with_time:  # the latest by time: (1, 7) at ts 90, (2, 7) at ts 10
        assert kept[(1, 7)] == 2.0 and kept[(2, 7)] == 3.0
        assert got.loc[(got["user"] == 1) & (got["item"] == 7), "time"].item() == 90
    else:  # the first row
        assert kept[(1, 7)] == 1.0 and kept[(2, 7)] == 3.0
    assert kept[(1, 8)] == 4.0 and kept[(3, 7)] == 1.0
    assert got["user"].tolist() == [1, 2, 1, 3]  # kept rows stay in their original order


def test_duplicate_time_ties_keep_the_last_row() -> None:
    a = pd.DataFrame({"user": [1, 1, 1], "item": [7, 7, 7], "rating": [1.0, 2.0, 3.0], "ts": [5, 9, 9]})
    b = pd.DataFrame({"user": [1], "item": [0], "rating": [1.0], "ts": [0]})
    data = CrossDomainData.from_frames({"a": a, "b": b}, rating="rating", time="ts")
    assert data.interactions("a")["rating"].tolist() == [3.0]


def test_datetime_time_column_is_ordered() -> None:
    a = pd.DataFrame({"user": [1, 1], "item": [7, 7], "rating": [1.0, 2.0],
                      "ts": pd.to_datetime(["2021-05-01", "2020-01-01"])})
    b = pd.DataFrame({"user": [1], "item": [0], "rating": [1.0],
                      "ts": pd.to_datetime(["2020-01-01"]).as_unit("s")})
    data = CrossDomainData.from_frames({"a": a, "b": b}, rating="rating", time="ts")
    assert data.interactions("a")["rating"].tolist() == [1.0]
    assert data.interactions("b")["time"].item() == pd.Timestamp("2020-01-01").value  # ns


# ------------------------------------------------------------------ reading
@pytest.mark.parametrize("sep", ["\t", ",", "::"])
@pytest.mark.parametrize("header", [True, False])
@pytest.mark.parametrize("ids", ["int", "str"])
def test_read_delimited_files(tmp_path, sep: str, header: bool, ids: str) -> None:
    frames = make_frames(5, ids)
    paths = {}
    for domain, frame in frames.items():
        lines = [sep.join(map(str, row)) for row in frame[["user", "item", "rating", "ts"]].itertuples(False)]
        if header:
            lines.insert(0, sep.join(["user", "item", "rating", "ts"]))
        paths[domain] = tmp_path / f"{domain}.txt"
        paths[domain].write_text("\n".join(lines) + "\n")
    cols = dict(user="user", item="item", rating="rating", time="ts") if header else \
        dict(user=0, item=1, rating=2, time=3)
    data = CrossDomainData.read(paths, header=header, **cols)
    expected = CrossDomainData.from_frames(frames, rating="rating", time="ts")
    assert list(data.user_ids) == list(expected.user_ids)
    assert data.user_ids.dtype.kind == ("i" if ids == "int" else "O")
    for domain in frames:
        pd.testing.assert_frame_equal(data.interactions(domain), expected.interactions(domain))
        assert list(data.item_ids[domain]) == list(expected.item_ids[domain])


def test_read_keeps_ids_with_leading_zeros(tmp_path) -> None:
    (tmp_path / "a.csv").write_text("user,item\n007,1\n7,2\n8,2\n")
    (tmp_path / "b.csv").write_text("user,item\n7,0001\n8,1\n")
    data = CrossDomainData.read({"a": tmp_path / "a.csv", "b": tmp_path / "b.csv"})
    assert sorted(data.user_ids) == ["007", "7", "8"]  # "007" is not user 7
    assert list(data.item_ids["a"]) == [1, 2] and list(data.item_ids["b"]) == ["0001", "1"]


@pytest.mark.parametrize("content, match", [("", "is empty"), ("user,item\n1,2\n", "no column 'rating'")])
def test_read_errors_name_the_file(tmp_path, content: str, match: str) -> None:
    (tmp_path / "a.csv").write_text(content)
    (tmp_path / "b.csv").write_text("user,item,rating\n1,2,3\n")
    with pytest.raises(ValueError, match=match) as err:
        CrossDomainData.read({"a": tmp_path / "a.csv", "b": tmp_path / "b.csv"}, rating="rating")
    assert "a.csv" in str(err.value) and "'a'" in str(err.value)
    with pytest.raises(ValueError, match="does not exist"):
        CrossDomainData.read({"a": tmp_path / "nope.csv", "b": tmp_path / "b.csv"})


@pytest.mark.parametrize("content, line, fields", [
    ("user,item\n1,2,3,4\n5,6,7,8\n", 2, "4 fields"),  # pandas made "1,2" an index: shifted columns
    ("user,item\n1,2\n9,10,11\n5,6\n", 3, "3 fields"),
    ("user,item\n1,2\n\n9\n5,6\n", 4, "1 field"),  # too few fields (after a blank line)
    ("user::item\n1::2\n3::4::5\n", 3, "3 fields")])
def test_read_rejects_a_line_with_another_number_of_fields(tmp_path, content: str, line: int,
                                                           fields: str) -> None:
    (tmp_path / "a.csv").write_text(content)
    (tmp_path / "b.csv").write_text("user,item\n1,20\n5,21\n")
    with pytest.raises(ValueError, match=f"a.csv', line {line}: {fields} where the header has 2.*as many"):
        CrossDomainData.read({"a": tmp_path / "a.csv", "b": tmp_path / "b.csv"})


@pytest.mark.parametrize("first", ["user,item", "user_id,item_id", "uid,9"])
def test_read_without_header_refuses_a_header_line(tmp_path, first: str) -> None:
    (tmp_path / "a.csv").write_text(f"{first}\n3,20\n7,21\n")
    (tmp_path / "b.csv").write_text("3,20\n7,21\n")
    with pytest.raises(ValueError, match="'a'.*a.csv.*header=False but its first line looks like "
                                         "column names.*Pass header=True"):
        CrossDomainData.read({"a": tmp_path / "a.csv", "b": tmp_path / "b.csv"}, header=False, user=0, item=1)
    data = CrossDomainData.read({"a": tmp_path / "b.csv", "b": tmp_path / "b.csv"}, header=False, user=0, item=1)
    assert data.user_ids.tolist() == [3, 7]


def test_read_strips_whitespace_around_ids(tmp_path) -> None:
    (tmp_path / "a.csv").write_text("user,item\n 3,20\n7 ,21\n")
    (tmp_path / "b.csv").write_text("user,item\n3,x \n7,\ty\n")
    data = CrossDomainData.read({"a": tmp_path / "a.csv", "b": tmp_path / "b.csv"})
    assert data.user_ids.dtype == np.int64 and data.user_ids.tolist() == [3, 7]
    assert data.item_ids["a"].tolist() == [20, 21] and data.item_ids["b"].tolist() == ["x", "y"]


# --------------------------------------------------------------- bad inputs
def _set(domain: str, column: str, row: int, value) -> callable:
    def edit(frames: dict[str, pd.DataFrame]) -> None:
        frame = frames[domain]
        frame[column] = frame[column].astype(float if isinstance(value, float) else object)
        frame.loc[row, column] = value
    return edit


BAD = {
    # name: (edit, exception, substrings that the message must contain)
    "missing column": (lambda f: f.__setitem__("movies", f["movies"].drop(columns="rating")), ValueError,
                       ["'movies'", "'rating'", "missing"]),
    "empty string id": (lambda f: (f["movies"].__setitem__("item", "i" + f["movies"]["item"].astype(str)),
                                   _set("movies", "item", 3, "  ")(f)),
                        ValueError, ["'movies'", "'item'", "row 3", "empty id"]),
    "NaN user id": (_set("books", "user", 2, np.nan), ValueError, ["'books'", "'user'", "row 2", "missing"]),
    "None item id": (_set("movies", "item", 4, None), ValueError, ["'movies'", "'item'", "row 4", "missing"]),
    "NaN rating": (_set("books", "rating", 6, np.nan), ValueError, ["'books'", "'rating'", "row 6", "finite"]),
    "inf rating": (_set("movies", "rating", 1, np.inf), ValueError, ["'movies'", "'rating'", "row 1", "finite"]),
    "text rating": (_set("books", "rating", 5, "great"), ValueError,
                    ["'books'", "'rating'", "row 5", "non-numeric", "great"]),
    "NaN time": (_set("books", "ts", 3, np.nan), ValueError, ["'books'", "'ts'", "row 3", "finite"]),
    "text time": (_set("books", "ts", 2, "yesterday"), TypeError, ["'books'", "'ts'", "row 2", "datetime"]),
    "mixed ids in a column": (_set("movies", "user", 7, "u7"), TypeError,
                              ["'movies'", "'user'", "row 7", "one type"]),
    "float item id": (_set("books", "item", 2, 2.5), TypeError, ["'books'", "'item'", "row 2", "non-integral"]),
    "ids of two types across domains": (
        lambda f: f.__setitem__("movies", f["movies"].assign(user=f["movies"]["user"].astype(str))),
        TypeError, ["'movies'", "'user'", "row 0", "astype(str)"]),
    "domain without rows": (lambda f: f.__setitem__("movies", f["movies"].iloc[:0]), ValueError,
                            ["'movies'", "no interactions"]),
    "no shared user": (lambda f: f["movies"].__setitem__("user", f["movies"]["user"] + 1000), ValueError,
                       ["'books'", "shares no user"]),
    "not a DataFrame": (lambda f: f.__setitem__("movies", f["movies"].to_dict()), TypeError,
                        ["'movies'", "DataFrame", "dict"]),
    "one domain": (lambda f: f.pop("movies"), ValueError, ["at least two domains", "books"]),
    "bad split label": (lambda f: [g.__setitem__("part", "train") for g in f.values()]
                        and _set("movies", "part", 2, "tset")(f), ValueError,
                        ["'movies'", "'part'", "row 2", "tset"]),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_errors_name_domain_column_and_row(case: str) -> None:
    edit, exc, parts = BAD[case]
    frames = make_frames(6)
    for frame in frames.values():
        frame["part"] = "train"
    edit(frames)
    with pytest.raises(exc) as err:
        CrossDomainData.from_frames(frames, rating="rating", time="ts", split="part")
    for part in parts:
        assert part in str(err.value), (part, str(err.value))


@pytest.mark.parametrize("roles, named", [(dict(user="user", item="user"), "user='user' and item='user'"),
                                          (dict(rating="item"), "item='item' and rating='item'"),
                                          (dict(time="ts", split="ts"), "time='ts' and split='ts'")])
def test_one_column_for_two_roles_is_refused(roles: dict, named: str) -> None:
    frames = {d: f.assign(ts=1) for d, f in hand_made().items()}
    with pytest.raises(ValueError, match=f"{named} name the same column"):
        CrossDomainData.from_frames(frames, **roles)


def test_frames_must_be_a_dict() -> None:
    with pytest.raises(TypeError, match="dict of domain name"):
        CrossDomainData.from_frames([pd.DataFrame({"user": [1], "item": [1]})] * 2)


@pytest.mark.parametrize("name", ["user", "", " books"])
def test_reserved_or_padded_domain_names(name: str) -> None:
    frames = hand_made()
    frames[name] = frames.pop("b")
    with pytest.raises(ValueError, match="not allowed"):
        CrossDomainData.from_frames(frames)


def test_error_row_reports_index_label() -> None:
    frames = hand_made()
    frames["b"] = frames["b"].set_axis(["w", "x", "y", "z"])
    frames["b"].loc["y", "item"] = ""
    with pytest.raises(ValueError, match=r"row 2 \(index label 'y'\)"):
        CrossDomainData.from_frames(frames)


@pytest.mark.parametrize("call", [
    lambda d: d.interactions("music"), lambda d: d.users("music"), lambda d: d.num_items("music"),
    lambda d: d.item_index("music", ["x"]), lambda d: d.shared_users("a", "music")])
def test_unknown_domain_lists_the_domains(call) -> None:
    data = CrossDomainData.from_frames(hand_made())
    with pytest.raises(ValueError, match=r"Unknown domain 'music'.*\['a', 'b'\]"):
        call(data)


@pytest.mark.parametrize("raw, shown", [([1, 42], "[42]"), ("2", "['2']"), (7.5, "[7.5]")])
def test_unknown_user_id_is_named(raw, shown: str) -> None:
    data = CrossDomainData.from_frames(hand_made())
    with pytest.raises(ValueError, match=r"Unknown user id\(s\) " + shown.replace("[", r"\[").replace("]", r"\]")):
        data.user_index(raw)


def test_unknown_item_id_is_named() -> None:
    data = CrossDomainData.from_frames(hand_made())
    with pytest.raises(ValueError, match=r"Unknown 'a' item id\(s\) \['z'\]"):
        data.item_index("a", ["x", "z"])
    with pytest.raises(ValueError, match="missing must be"):
        data.user_index([1], missing="skip")
