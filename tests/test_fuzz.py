"""Property-based fuzzing of the user surface: building data, reading files, splitting, recommending.

The property everywhere: a call either succeeds with a result that satisfies the
invariants, or raises ValueError/TypeError with a message. Never IndexError,
KeyError, AttributeError, OverflowError, a hang or a silently wrong result.
"""
from __future__ import annotations

import copy
import os
import tempfile
from datetime import datetime

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import cdgraph
from cdgraph import CrossDomainData
from cdgraph.models import baselines
from cdgraph.data.scarcity import cold_items, thin_bridge
from cdgraph.data.split import cold_start, leave_one_out, predefined, ratio

from .planted import planted

torch.set_num_threads(1)
FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def fails_cleanly(exc: BaseException) -> None:
    """The only acceptable failure: ValueError/TypeError with a message."""
    assert isinstance(exc, (ValueError, TypeError)), f"{type(exc).__name__}: {exc}"
    assert str(exc).strip(), f"{type(exc).__name__} without a message"


# ------------------------------------------------------------------ values
def weighted(*pairs):
    """Draw from strategy ``s`` with probability proportional to ``w`` for each ``(w, s)``."""
    return st.sampled_from([s for w, s in pairs for _ in range(w)]).flatmap(lambda s: s)


BIG = 2 ** 70
ints = st.one_of(st.integers(-20, 20), st.integers(-BIG, BIG),
                 st.sampled_from([2 ** 63 - 1, 2 ** 63, -2 ** 63, -2 ** 63 - 1, 2 ** 64 - 1, 2 ** 64]))
texts = st.one_of(st.text(max_size=4), st.sampled_from(["", " ", "\t", " a", "a ", "é", "\x00", "NA",
                                                           "nan", "None", "null", "0", "-0", "007", "😀"]))
floats = st.one_of(st.floats(allow_nan=True, allow_infinity=True),
                   st.integers(-20, 20).map(float), st.sampled_from([2.0 ** 53 + 2, 0.5, -0.0]))
odd = st.one_of(st.none(), st.booleans(), st.just(np.nan), st.just(pd.NaT), st.binary(max_size=2),
                st.datetimes(min_value=datetime(1000, 1, 1), max_value=datetime(3000, 1, 1)))
# a column draws all its values from one kind most of the time, from a mixture sometimes
kinds = {"int": ints, "small": st.integers(0, 6), "text": texts, "float": floats, "odd": odd,
         "mixed": st.one_of(ints, texts, floats, odd)}


@st.composite
def column(draw, n: int, kind: str | None = None):
    kind = kind or draw(st.sampled_from(sorted(kinds)))
    values = draw(st.lists(kinds[kind], min_size=n, max_size=n))
    dtype = draw(st.sampled_from([None, None, object, "category"]))
    try:
        return pd.Series(values, dtype=dtype) if dtype else pd.Series(values)
    except (ValueError, TypeError, OverflowError):  # a frame pandas itself cannot build
        return pd.Series(values, dtype=object)


POOL = {"int": st.integers(-3, 4), "str": st.sampled_from(["u", "é", "NA", "007", "-0", "0", "😀 x"]),
        "float": st.integers(-3, 4).map(float), "big": st.sampled_from([2 ** 63 - 1, -2 ** 63, 0, 7])}
bad_cells = st.one_of(ints, texts, floats, odd)


@st.composite
def frames_and_columns(draw):
    """Two or three domains; mostly well-formed ids from a small pool (so that users are
    shared and duplicates occur), sometimes one poisoned cell, sometimes wholly random columns."""
    n_domains = draw(st.integers(2, 3))
    rating, time = draw(st.booleans()), draw(st.booleans())
    mode = draw(st.sampled_from(["clean", "clean", "poisoned", "random"]))
    user_kind = draw(st.sampled_from(sorted(POOL)))
    frames = {}
    for d in ["a", "b", "c"][:n_domains]:
        n = draw(st.integers(0 if mode == "random" else 1, 8))
        if mode == "random":
            frame = {"user": draw(column(n)), "item": draw(column(n))}
        else:
            item_kind = draw(st.sampled_from(sorted(POOL)))
            frame = {"user": pd.Series(draw(st.lists(POOL[user_kind], min_size=n, max_size=n))),
                     "item": pd.Series(draw(st.lists(POOL[item_kind], min_size=n, max_size=n)))}
        if rating:
            frame["rating"] = draw(column(n, "mixed")) if mode == "random" else pd.Series(
                draw(st.lists(st.floats(-5, 5), min_size=n, max_size=n)), dtype=float)
        if time:
            if mode == "random":
                frame["time"] = draw(column(n, draw(st.sampled_from(["float", "int", "odd"]))))
            elif draw(st.booleans()):
                frame["time"] = pd.Series(draw(st.lists(st.integers(0, 5), min_size=n, max_size=n)))
            else:
                frame["time"] = pd.Series(pd.to_datetime(draw(st.lists(st.datetimes(
                    min_value=datetime(1000, 1, 1), max_value=datetime(3000, 1, 1)), min_size=n, max_size=n))
                    ).astype("datetime64[s]"))
        frame = pd.DataFrame({k: v.reset_index(drop=True) for k, v in frame.items()})
        if mode == "poisoned" and n and draw(st.booleans()):
            col = draw(st.sampled_from(list(frame.columns)))
            frame[col] = frame[col].astype(object)
            frame.iloc[draw(st.integers(0, n - 1)), frame.columns.get_loc(col)] = draw(bad_cells)
        frames[d] = frame
    return frames, ("rating" if rating else None), ("time" if time else None)


def _norm(v):
    """A raw id as the library should see it: integral floats are integers."""
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return int(v)
    return v.item() if isinstance(v, np.generic) else v


# ------------------------------------------------------------------ from_frames
@FUZZ
@given(frames_and_columns())
def test_from_frames_never_crashes_and_counts_add_up(case) -> None:
    frames, rating, time = case
    before = copy.deepcopy(frames)
    try:
        data = CrossDomainData.from_frames(frames, rating=rating, time=time)
    except Exception as exc:  # noqa: BLE001 - the property is about which exceptions
        fails_cleanly(exc)
        event(f"refused: {type(exc).__name__}")
        return
    finally:
        for d in frames:  # the caller's frames are never modified
            pd.testing.assert_frame_equal(frames[d], before[d])
    event("built")
    summary = data.summary()
    all_users = set()
    for d, frame in frames.items():
        users = [_norm(u) for u in frame["user"]]
        items = [_norm(i) for i in frame["item"]]
        pairs = set(zip(users, items))
        all_users |= set(users)
        assert summary.loc[d, "interactions"] == len(pairs)
        assert summary.loc[d, "users"] == len(set(users))
        assert summary.loc[d, "items"] == len(set(items)) == data.num_items(d)
        raw = data.interactions(d, raw=True)
        assert set(zip(map(_norm, raw["user"]), map(_norm, raw["item"]))) == pairs
        for col in (rating, time):
            if col:
                assert np.isfinite(raw[col].to_numpy(np.float64)).all()
        if time and pd.api.types.is_numeric_dtype(frame["time"]):  # the latest duplicate is kept
            latest = pd.DataFrame({"u": users, "i": items, "t": frame["time"].to_numpy(np.float64)}) \
                .groupby(["u", "i"])["t"].max()
            kept = dict(zip(zip(map(_norm, raw["user"]), map(_norm, raw["item"])), raw["time"]))
            assert all(float(kept[pair]) == t for pair, t in latest.items())
    assert data.num_users == len(all_users) and data.user_ids.is_unique
    assert all(data.item_ids[d].is_unique for d in data.domains)


# ------------------------------------------------------------------ read
SEPS = ["\t", ",", ";", "::", " ", "|"]
# id text that a delimited file can carry unquoted: no separators, quotes, spaces or line breaks
id_text = st.one_of(st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp"),
                                          blacklist_characters=",;:|\"'#\\"), min_size=1, max_size=4),
                    st.sampled_from(["NA", "null", "nan", "None", "0", "-0", "007", "12", "-3"]))


def _write(path: str, rows: list[list[str]], sep: str) -> None:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write("".join(sep.join(r) + "\n" for r in rows))


@FUZZ
@given(st.lists(st.tuples(id_text, id_text), min_size=1, max_size=6),
       st.lists(st.tuples(id_text, id_text), min_size=0, max_size=6),
       st.sampled_from(SEPS), st.booleans(), st.booleans(),
       st.lists(st.floats(-9, 9), min_size=12, max_size=12),
       st.one_of(st.none(), st.tuples(st.integers(0, 11), st.sampled_from(["", "NaN", "inf", "x", "1e400"]))))
def test_read_round_trips_or_fails_cleanly(rows_a, rows_b, sep, header, sniff, ratings, poison) -> None:
    ratings = list(ratings)
    if poison is not None:  # one missing, infinite, textual or out-of-range rating
        ratings[poison[0]] = poison[1]
    rows_b = rows_b + rows_a[:1]  # at least one shared user
    with tempfile.TemporaryDirectory() as tmp:
        paths, expected = {}, {}
        for d, rows in (("a", rows_a), ("b", rows_b)):
            body = [[u, i, str(r)] for (u, i), r in zip(rows, ratings)]
            _write(os.path.join(tmp, d), ([["user", "item", "rating"]] if header else []) + body, sep)
            paths[d] = os.path.join(tmp, d)
            expected[d] = {(u, i) for u, i in rows}
        cols = dict(user="user", item="item", rating="rating") if header else dict(user=0, item=1, rating=2)
        try:
            data = CrossDomainData.read(paths, sep=None if sniff and sep != "|" else sep, header=header, **cols)
        except Exception as exc:  # noqa: BLE001
            fails_cleanly(exc)
            event(f"refused: {type(exc).__name__}: {str(exc).split(':')[-2][-40:]}")
            return
    event("read")
    for d, pairs in expected.items():  # ids exactly as written ("007", "NA" and "-0" included)
        raw = data.interactions(d, raw=True)
        assert set(zip(raw["user"].astype(str), raw["item"].astype(str))) == pairs
        assert np.isfinite(raw["rating"]).all()


@FUZZ
@given(st.one_of(st.binary(max_size=60), st.text(max_size=60).map(lambda t: t.encode("utf-8", "surrogatepass"))),
       st.sampled_from([None, *SEPS]), st.booleans())
def test_read_arbitrary_bytes_fails_cleanly(content: bytes, sep, header) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        paths = {d: os.path.join(tmp, d) for d in ("a", "b")}
        for p in paths.values():
            with open(p, "wb") as fh:
                fh.write(content)
        cols = {} if header else dict(user=0, item=1)
        try:
            data = CrossDomainData.read(paths, sep=sep, header=header, **cols)
        except Exception as exc:  # noqa: BLE001
            fails_cleanly(exc)
            return
    assert data.num_users >= 1 and all(data.num_items(d) >= 1 for d in data.domains)


# ------------------------------------------------------------------ splits
@st.composite
def split_data(draw):
    """Small int-id data, target ``t``; with time and a shipped split column sometimes."""
    time, labels = draw(st.booleans()), draw(st.booleans())
    frames = {}
    for d in ("s", "t"):
        n = draw(st.integers(1, 25))
        frame = pd.DataFrame({"user": draw(st.lists(st.integers(0, 6), min_size=n, max_size=n)),
                              "item": draw(st.lists(st.integers(0, 9), min_size=n, max_size=n))})
        if time:
            frame["ts"] = draw(st.lists(st.integers(0, 4), min_size=n, max_size=n))
        if labels:
            frame["part"] = draw(st.lists(st.sampled_from(["train", "train", "valid", "test"]),
                                          min_size=n, max_size=n))
        frames[d] = frame
    frames["s"].loc[0, "user"] = frames["t"].loc[0, "user"]  # at least one shared user
    return CrossDomainData.from_frames(frames, time="ts" if time else None,
                                       split="part" if labels else None)


fractions = weighted((1, st.floats(allow_nan=True, allow_infinity=True)), (6, st.floats(0, 1)),
                     (1, st.sampled_from([0, 1, 0.5, 1e-12, 1 - 1e-12, True, "0.5", None, -0.0])))
seeds = weighted((1, st.integers(0, 2 ** 64)), (6, st.integers(0, 9)),
                 (1, st.sampled_from([-1, 1.5, None, "0"])))


def _pairs(frame: pd.DataFrame) -> list[tuple[int, int]]:
    return sorted(zip(frame["user"].tolist(), frame["item"].tolist()))


def _check_covers(split, data, target: str = "t") -> None:
    split.check()
    parts = [split.train[target], split.valid, split.test]
    assert _pairs(pd.concat(parts)) == _pairs(data.interactions(target))  # a partition of the target
    for d in split.sources:
        assert set(_pairs(split.train[d])) <= set(_pairs(data.interactions(d)))


@FUZZ
@given(split_data(), st.sampled_from(["leave_one_out", "ratio", "cold_start", "predefined", "cold_items",
                                      "thin_bridge"]),
       fractions, fractions, seeds, st.booleans(), st.sampled_from(["t"] * 8 + ["s", "x", None]))
def test_splits_partition_the_target_or_fail_cleanly(data, kind, f1, f2, seed, flag, target) -> None:
    if flag and all(type(f) is float for f in (f1, f2)):
        f2 = f2 * (1 - f1)  # often a valid pair of fractions
    calls = {"leave_one_out": lambda: leave_one_out(data, target, seed=seed, valid=flag),
             "ratio": lambda: ratio(data, target, train=f1, valid=f2, seed=seed),
             "cold_start": lambda: cold_start(data, target, fraction=f1, seed=seed),
             "predefined": lambda: predefined(data, target, valid_from_train=flag, seed=seed),
             "cold_items": lambda: cold_items(data, target, fraction=f1, seed=seed),
             "thin_bridge": lambda: thin_bridge(leave_one_out(data, target, valid=False), keep=f1, seed=seed)}
    try:
        split = calls[kind]()
    except Exception as exc:  # noqa: BLE001
        fails_cleanly(exc)
        event(f"{kind} refused: {type(exc).__name__}: {str(exc)[:30]}")
        return
    event(f"{kind} split")
    assert split.target == target in data.domains
    if kind == "predefined":
        split.check()
        part = data.interactions(target)["part"]
        frame = data.interactions(target)
        assert set(_pairs(split.test)) == set(_pairs(frame[part == "test"]))
        assert set(_pairs(split.valid)) <= set(_pairs(frame[part != "test"]))
        assert set(_pairs(split.train[target])) <= set(_pairs(frame[part == "train"]))
        return
    _check_covers(split, data, target)
    counts = data.interactions(target)["user"].value_counts()
    held = pd.concat([split.valid, split.test])["user"].value_counts()
    if kind == "leave_one_out":
        need = 3 if flag else 2
        assert all(held.get(u, 0) == (need - 1 if c >= need else 0) for u, c in counts.items())
    elif kind == "ratio":
        assert 0 < f1 <= 1 and 0 <= f2 < 1 and not isinstance(f1, (bool, str))
        assert split.train[target]["user"].nunique() == len(counts)  # every user keeps one train row
    elif kind == "cold_items":
        cold = split.info["cold_items"]
        assert 0 < f1 < 1 and len(cold) >= 2 and not split.train[target]["item"].isin(cold).any()
        assert set(pd.concat([split.valid, split.test])["item"]) == set(cold)
    elif kind == "thin_bridge":
        assert 0 < f1 <= 1
        bridge = np.intersect1d(split.train["s"]["user"], split.train["t"]["user"])
        assert len(bridge) == len(split.info["thin_bridge"]["kept_users"]) >= 1
    else:
        assert 0 < f1 < 1 and len(split.cold_users)
        assert not split.train[target]["user"].isin(split.cold_users).any()
        assert set(held.index) == set(split.cold_users)


# ------------------------------------------------------------------ recommend
def _same(u, v) -> bool:
    try:
        return bool(u == v)
    except Exception:  # noqa: BLE001 - arrays, odd objects
        return False


DATA = planted(num_users=40, num_items=16, per_user=4, seed=0)
SPLIT = leave_one_out(DATA, "tgt", seed=0)
MODELS = {"pop": baselines.Popularity("tgt").fit(SPLIT),
          "graph": cdgraph.GraphRecommender("tgt", dim=8, layers=1).fit(
              SPLIT, epochs=1, batch_size=64, patience=None, progress=False)}
KNOWN = set(DATA.user_ids.tolist())
SEEN = set(zip(*(SPLIT.raw("train")[c].tolist() for c in ("user", "item"))))
users_in = weighted((12, st.sampled_from(sorted(KNOWN))), (1, st.integers(-BIG, BIG)), (1, texts), (1, floats), (1, odd),
                    (1, st.sampled_from([np.int64(3), np.uint64(2 ** 64 - 1), 1 + 0j, (1,), 3.0])))
k_in = weighted((8, st.integers(-3, 20)), (1, st.integers(-BIG, BIG)), (1, floats), (1, odd),
                (1, st.sampled_from([np.int64(5), "5"])))


@FUZZ
@given(st.sampled_from(sorted(MODELS)), st.one_of(st.lists(users_in, max_size=6), users_in), k_in,
       st.sampled_from(["raise", "skip"]), st.booleans())
def test_recommend_only_known_users_ranked_and_unseen(name, users, k, unknown, exclude_seen) -> None:
    if isinstance(users, list):  # a repeated user is test_recommend_repeated_user's business
        users = [u for n, u in enumerate(users) if not any(u is v or _same(u, v) for v in users[:n])]
    try:
        recs = MODELS[name].recommend(users, k=k, unknown=unknown, exclude_seen=exclude_seen)
    except Exception as exc:  # noqa: BLE001
        fails_cleanly(exc)
        event(f"refused: {type(exc).__name__}: {str(exc)[:20]}")
        return
    event("recommended" if len(recs) else "recommended nothing")
    query = list(users) if isinstance(users, (list, tuple)) else [users]
    assert isinstance(k, (int, np.integer)) and not isinstance(k, bool) and k >= 1
    strict_known = [u for u in query if not isinstance(u, (bool, complex, np.bool_))
                    and isinstance(u, (int, np.integer, float)) and u in KNOWN]
    if unknown == "raise":
        assert len(strict_known) == len(query)
    assert set(recs["user"]) <= KNOWN and all(not isinstance(u, bool) for u in recs["user"])
    assert recs["user"].nunique() == len(set(strict_known))
    for _, rows in recs.groupby("user", sort=False):
        per_query_user = len(rows) // max(1, sum(1 for u in strict_known if u == rows["user"].iloc[0]))
        assert list(rows["rank"])[:per_query_user] == list(range(1, per_query_user + 1))
        assert per_query_user <= min(k, DATA.num_items("tgt"))
        assert np.isfinite(rows["score"]).all()
    if exclude_seen:
        assert not any((u, i) in SEEN for u, i in zip(recs["user"], recs["item"]))


@pytest.mark.parametrize("name", sorted(MODELS))
def test_recommend_repeated_user(name) -> None:
    user = DATA.user_ids[0]
    recs = MODELS[name].recommend([user, user], k=3)
    once = MODELS[name].recommend([user], k=3)
    pd.testing.assert_frame_equal(recs, pd.concat([once, once], ignore_index=True))


# ------------------------------------------------------------------ item features
FEATURE_DATA = CrossDomainData.from_frames({"a": pd.DataFrame({"user": [1, 2, 3, 1], "item": list("xyzw")}),
                                            "b": pd.DataFrame({"user": [1, 2], "item": [0, 1]})})
ITEM_POOL = {"a": st.sampled_from(list("xyzwq")), "b": st.integers(-1, 2), "x": st.sampled_from(list("xy"))}
vector_cells = weighted((6, st.lists(st.integers(-3, 3), min_size=2, max_size=2).map(np.array)),
                        (2, st.lists(floats, min_size=0, max_size=3)), (1, st.none()), (1, bad_cells))
cell_kinds = {"text": weighted((6, texts), (1, st.none())), "number": floats, "vector": vector_cells,
              "odd": bad_cells}


@st.composite
def feature_tables(draw):
    """A domain (sometimes unknown) and its feature table: ids mostly of its items (unknown and
    repeated ones too), one to three columns of text, numbers, vectors or odd cells."""
    domain = draw(st.sampled_from(["a", "a", "b", "b", "x"]))
    if draw(st.booleans()):  # distinct known ids: the table should mostly be accepted
        ids = draw(st.lists(st.sampled_from(list(FEATURE_DATA.item_ids.get(domain, ["x"]))), unique=True))
    else:
        ids = draw(st.lists(weighted((12, ITEM_POOL[domain]), (1, bad_cells)), max_size=6))
    n = len(ids)
    table = {"item": pd.Series(ids, dtype=object if any(isinstance(i, str) for i in ids) else None)}
    for k in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(sorted(cell_kinds)))
        cells = draw(st.lists(cell_kinds[kind], min_size=n, max_size=n))
        objects = kind in ("vector", "odd")
        table[f"{kind}{k}"] = pd.Series(cells, dtype=object) if objects else pd.Series(cells)
    return domain, pd.DataFrame(table)


@FUZZ
@given(feature_tables())
def test_item_features_align_or_fail_cleanly(case) -> None:
    domain, table = case
    data, before = copy.deepcopy(FEATURE_DATA), copy.deepcopy(table)
    try:
        data.set_item_features(domain, table)
    except Exception as exc:  # noqa: BLE001 - the property is about which exceptions
        fails_cleanly(exc)
        event(f"refused: {type(exc).__name__}")
        return
    finally:
        pd.testing.assert_frame_equal(table, before)  # the caller's table is never modified
    event("set")
    n = data.num_items(domain)
    frame = data.item_features(domain)
    assert frame.index.equals(data.item_ids[domain]) and list(frame.columns) == list(table.columns[1:])
    assert data.summary().loc[domain, "item_features"] == pytest.approx(len(table) / n)
    text = data.item_text(domain)
    assert len(text) == n and all(isinstance(t, str) for t in text)
    kinds = data.item_feature_columns(domain)
    for row, item in zip(table.itertuples(index=False), table["item"]):
        at = int(data.item_index(domain, [item])[0])
        for column, value in zip(table.columns[1:], row[1:]):
            if kinds[column] == "text" and isinstance(value, str) and value:
                assert value in text[at]
    if any(k != "text" for k in kinds.values()):
        matrix, mask = data.item_vectors(domain)
        assert matrix.dtype == np.float32 and matrix.shape[0] == n == len(mask)
        assert np.isfinite(matrix).all() and not matrix[~mask].any()
