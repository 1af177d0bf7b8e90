"""Splits of the target domain: invariants shared by every split function, then each one's rules."""
from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd
import pytest

from cdgraph import CrossDomainData
from cdgraph.data import split as splits
from cdgraph.data.split import Split

TARGET = "music"


def make_data(seed: int = 0, time: bool = True, part: str | None = None, n_users: int = 80
              ) -> CrossDomainData:
    """Three domains over ``n_users`` users; the target has users with 1 to ~12 interactions.

    ``part``: None (no split column), ``"train_test"`` (each target user's last item is
    test, as in the DisenCDR files) or ``"train_valid_test"``; other domains get test rows too.
    """
    rng = np.random.default_rng(seed)
    frames = {}
    for domain, n_items, rows in ((TARGET, 40, 500), ("books", 30, 400), ("movies", 20, 200)):
        users = rng.integers(0, n_users, rows)
        if domain == TARGET:  # a few users with 1 or 2 interactions only
            users = np.r_[users, [n_users, n_users + 1, n_users + 1]]
        frame = pd.DataFrame({"user": users, "item": rng.integers(0, n_items, len(users))})
        frame = frame.drop_duplicates(ignore_index=True)
        frame["user"] = "u" + frame["user"].astype(str)
        frame["rating"] = rng.integers(1, 6, len(frame)).astype(float)
        frame["ts"] = rng.permutation(len(frame))  # distinct times
        if part is not None:
            last = frame.groupby("user")["ts"].transform("max") == frame["ts"]
            second = frame.groupby("user")["ts"].transform(lambda t: t.nlargest(2).min()) == frame["ts"]
            frame["part"] = np.where(last & (frame.groupby("user")["ts"].transform("size") > 1), "test", "train")
            if part == "train_valid_test":
                frame.loc[second & ~last & (frame.groupby("user")["ts"].transform("size") > 2), "part"] = "valid"
        frames[domain] = frame
    # one user active in books only (not shared with the target)
    frames["books"] = pd.concat([frames["books"], pd.DataFrame(
        {"user": ["solo"], "item": [0], "rating": [1.0], "ts": [10 ** 6], "part": ["train"]})],
        ignore_index=True)[list(frames["books"].columns)]
    return CrossDomainData.from_frames(frames, rating="rating", time="ts" if time else None,
                                       split="part" if part else None)


def keys(frame: pd.DataFrame) -> set[tuple[int, int]]:
    return set(zip(frame["user"].tolist(), frame["item"].tolist()))


SPLITS: dict[str, tuple[Callable[[int], Split], bool]] = {
    # name: (make a split from a seed, whether the seed changes the split)
    "leave_one_out_time": (lambda seed: splits.leave_one_out(make_data(), TARGET, seed=seed), False),
    "leave_one_out_random": (lambda seed: splits.leave_one_out(make_data(time=False), TARGET, seed=seed), True),
    "leave_one_out_no_valid": (lambda seed: splits.leave_one_out(make_data(time=False), TARGET, seed=seed,
                                                                 valid=False), True),
    "ratio": (lambda seed: splits.ratio(make_data(), TARGET, 0.6, 0.2, seed=seed), True),
    "cold_start": (lambda seed: splits.cold_start(make_data(), TARGET, 0.3, seed=seed), True),
    "cold_items": (lambda seed: splits.SPLITS.get("cold_items")(make_data(), TARGET, 0.3, seed=seed),
                   True),
    "predefined": (lambda seed: splits.predefined(make_data(part="train_valid_test"), TARGET, seed=seed), False),
    "predefined_carved": (lambda seed: splits.predefined(make_data(time=False, part="train_test"), TARGET,
                                                         seed=seed), True),
}


@pytest.mark.parametrize("name", list(SPLITS))
def test_split_invariants(name: str) -> None:
    s = SPLITS[name][0](0)
    data = s.data
    train, valid, test = keys(s.train[TARGET]), keys(s.valid), keys(s.test)
    assert len(s.valid) == len(valid) and len(s.test) == len(test)
    assert not (valid & train) and not (test & train) and not (valid & test)
    assert len(test) > 0 and list(s.train) == data.domains
    target = data.interactions(TARGET)
    for frame in (s.train[TARGET], s.valid, s.test):
        assert "part" not in frame and frame.index.equals(pd.RangeIndex(len(frame)))
        assert list(frame.columns) == ["user", "item", "rating", "time"][:len(frame.columns)]
    if name.startswith("predefined"):
        shipped_test = target[target["part"] == "test"]
        assert test == keys(shipped_test)
        for domain in s.sources:  # the sources' held-out rows are dropped by design
            full = data.interactions(domain)
            assert keys(s.train[domain]) == keys(full[full["part"] == "train"])
        assert len(train) + len(valid) + len(test) == len(target)
    else:
        assert len(s.train[TARGET]) + len(s.valid) + len(s.test) == len(target)
        assert train | valid | test == keys(target)
        for domain in s.sources:  # untouched
            pd.testing.assert_frame_equal(s.train[domain], data.interactions(domain))
    merged = pd.concat([s.train[TARGET], s.valid, s.test]).sort_values(["user", "item"], ignore_index=True)
    original = target.drop(columns="part", errors="ignore").sort_values(["user", "item"], ignore_index=True)
    if not name.startswith("predefined"):  # rows carry their rating and time along
        pd.testing.assert_frame_equal(merged, original)
    s.check()
    assert "interactions" in s.summary() and TARGET in repr(s)


@pytest.mark.parametrize("name", list(SPLITS))
def test_same_seed_same_split_and_seed_matters(name: str) -> None:
    make, random = SPLITS[name]
    a, b, c = make(3), make(3), make(4)
    for part in ("train", "valid", "test"):
        pd.testing.assert_frame_equal(a.part(part), b.part(part))
    np.testing.assert_array_equal(a.cold_users, b.cold_users)
    differs = any(keys(a.part(p)) != keys(c.part(p)) for p in ("valid", "test"))
    assert differs == random


@pytest.mark.parametrize("seed", [0, 1])
def test_leave_one_out_holds_out_the_latest(seed: int) -> None:
    data = make_data(seed)
    s = splits.leave_one_out(data, TARGET, seed=seed)
    target = data.interactions(TARGET)
    ranked = target.assign(rank=target.groupby("user")["time"].rank(ascending=False, method="first"),
                           size=target.groupby("user")["time"].transform("size"))
    eligible = ranked[ranked["size"] >= 3]
    assert keys(s.test) == keys(eligible[eligible["rank"] == 1])
    assert keys(s.valid) == keys(eligible[eligible["rank"] == 2])
    assert s.test["user"].is_unique and s.valid["user"].is_unique
    few = ranked.loc[ranked["size"] < 3, "user"].unique()
    assert len(few) >= 2  # the generator makes such users
    assert not np.isin(few, s.test["user"]).any() and not np.isin(few, s.valid["user"]).any()
    assert keys(ranked[ranked["size"] < 3]) <= keys(s.train[TARGET])  # wholly in train


def test_leave_one_out_time_ties_are_broken_by_seed() -> None:
    a = pd.DataFrame({"user": [0] * 6, "item": range(6), "ts": [1, 1, 1, 1, 1, 1]})
    b = pd.DataFrame({"user": [0], "item": [0], "ts": [0]})
    data = CrossDomainData.from_frames({"a": a, "b": b}, time="ts")
    picks = {int(splits.leave_one_out(data, "a", seed=s).test["item"].item()) for s in range(12)}
    assert len(picks) > 1


def test_leave_one_out_without_valid_needs_two() -> None:
    data = make_data(time=False)
    s = splits.leave_one_out(data, TARGET, valid=False)
    counts = data.interactions(TARGET)["user"].value_counts()
    assert len(s.valid) == 0
    assert sorted(s.test["user"]) == sorted(counts[counts >= 2].index)


@pytest.mark.parametrize("train, valid", [(0.8, 0.1), (0.5, 0.25), (0.7, 0.0)])
def test_ratio_shares_per_user(train: float, valid: float) -> None:
    data = make_data()
    s = splits.ratio(data, TARGET, train, valid, seed=2)
    n = data.interactions(TARGET)["user"].value_counts()
    got = {p: s.part(p)["user"].value_counts().reindex(n.index, fill_value=0) for p in ("train", "valid", "test")}
    n_train = np.maximum(1, np.floor(n * train + 1e-9)).astype(int)
    n_valid = np.minimum(np.floor(n * valid + 1e-9).astype(int), n - n_train)
    pd.testing.assert_series_equal(got["train"], n_train, check_names=False)
    pd.testing.assert_series_equal(got["valid"], n_valid, check_names=False)
    pd.testing.assert_series_equal(got["test"], n - n_train - n_valid, check_names=False)


@pytest.mark.parametrize("train, valid", [(0.0, 0.1), (0.9, 0.2), (1.2, 0.0), (0.5, -0.1)])
def test_ratio_rejects_bad_shares(train: float, valid: float) -> None:
    with pytest.raises(ValueError, match="ratio split needs"):
        splits.ratio(make_data(), TARGET, train, valid)


@pytest.mark.parametrize("fraction", [0.1, 0.25, 0.5])
def test_cold_start_users(fraction: float) -> None:
    data = make_data(1)
    s = splits.cold_start(data, TARGET, fraction, seed=5)
    shared = np.union1d(data.shared_users(TARGET, "books"), data.shared_users(TARGET, "movies"))
    assert len(s.cold_users) == round(fraction * len(shared))
    assert np.isin(s.cold_users, shared).all() and len(np.unique(s.cold_users)) == len(s.cold_users)
    assert not np.isin(s.cold_users, s.train[TARGET]["user"]).any()  # zero target train interactions
    for domain in s.sources:  # their source interactions stay
        src = data.interactions(domain)
        kept = s.train[domain]
        assert (kept["user"].isin(s.cold_users).sum() == src["user"].isin(s.cold_users).sum())
    held = np.union1d(s.valid["user"], s.test["user"])
    np.testing.assert_array_equal(held, s.cold_users)  # all of them held out, nobody else
    assert not np.intersect1d(s.valid["user"], s.test["user"]).size  # valid users, test users
    target = data.interactions(TARGET)
    assert len(s.valid) + len(s.test) == target["user"].isin(s.cold_users).sum()


@pytest.mark.parametrize("fraction", [0.0, 1.0, 0.001])
def test_cold_start_rejects_bad_fraction(fraction: float) -> None:
    with pytest.raises(ValueError, match="fraction"):
        splits.cold_start(make_data(), TARGET, fraction)


def test_predefined_needs_a_split_column() -> None:
    with pytest.raises(ValueError, match="no split column.*from_frames.*leave_one_out"):
        splits.predefined(make_data(), TARGET)


@pytest.mark.parametrize("time", [True, False])
def test_predefined_carves_one_valid_item_per_user(time: bool) -> None:
    data = make_data(2, time=time, part="train_test")
    target = data.interactions(TARGET)
    shipped_train = target[target["part"] == "train"]
    s = splits.predefined(data, TARGET, seed=1)
    n_train = shipped_train["user"].value_counts()
    assert sorted(s.valid["user"]) == sorted(n_train[n_train >= 2].index)  # one each
    assert keys(s.valid) <= keys(shipped_train) and keys(s.test) == keys(target[target["part"] == "test"])
    assert (s.train[TARGET]["user"].value_counts() >= 1).all()
    assert s.info["valid_from_train"]
    if time:  # the latest train interaction of each user
        latest = shipped_train.loc[shipped_train.groupby("user")["time"].idxmax()]
        assert keys(s.valid) == keys(latest[latest["user"].isin(s.valid["user"])])
    plain = splits.predefined(data, TARGET, valid_from_train=False)
    assert len(plain.valid) == 0 and keys(plain.train[TARGET]) == keys(shipped_train)


def test_predefined_keeps_shipped_valid_rows() -> None:
    data = make_data(part="train_valid_test")
    target = data.interactions(TARGET)
    s = splits.predefined(data, TARGET)
    assert keys(s.valid) == keys(target[target["part"] == "valid"]) and not s.info["valid_from_train"]


def test_predefined_aligns_fixed_negatives() -> None:
    data = make_data(part="train_test")
    target = data.interactions(TARGET)
    test = target[target["part"] == "test"].iloc[::-1]  # another order than the split's test
    negatives = [np.arange(k % 3 + 1) + 100 * k for k in range(len(test))]
    fixed = pd.DataFrame({"user": test["user"].to_numpy(), "item": test["item"].to_numpy(),
                          "negatives": negatives}).iloc[1:]  # the first pair has none
    data.meta["test_negatives"] = {TARGET: fixed}
    s = splits.predefined(data, TARGET)
    assert s.test_negatives.shape == (len(s.test), 3)
    lookup = {(u, i): n for u, i, n in zip(fixed["user"], fixed["item"], fixed["negatives"])}
    for row, (u, i) in enumerate(zip(s.test["user"], s.test["item"])):
        want = lookup.get((u, i), np.empty(0, np.int64))
        np.testing.assert_array_equal(s.test_negatives[row, :len(want)], want)
        assert (s.test_negatives[row, len(want):] == -1).all()


@pytest.mark.parametrize("call", [
    lambda d: splits.leave_one_out(d, "jazz"), lambda d: splits.ratio(d, "jazz"),
    lambda d: splits.cold_start(d, "jazz"), lambda d: splits.predefined(d, "jazz")])
def test_unknown_target_domain(call) -> None:
    with pytest.raises(ValueError, match=r"Unknown domain 'jazz'.*'music'"):
        call(make_data())


def test_check_catches_leaks() -> None:
    s = splits.leave_one_out(make_data(), TARGET)
    leaky = dict(s.train)
    leaky[TARGET] = pd.concat([s.train[TARGET], s.test.iloc[:1]], ignore_index=True)
    with pytest.raises(ValueError, match="test interaction.*also appears in train"):
        Split(s.data, TARGET, leaky, s.valid, s.test)
    with pytest.raises(ValueError, match="valid and test share"):
        Split(s.data, TARGET, s.train, pd.concat([s.valid, s.test.iloc[:1]]), s.test)


# --------------------------------------------------------------- empty parts
def per_user(n: int, n_users: int = 6, seed: int = 0, part: list[str] | None = None) -> CrossDomainData:
    """Target "t" with ``n`` distinct items per user (``part``: their split labels, per
    user), source "s" with one item per user: every user is shared."""
    rng = np.random.default_rng(seed)
    t = pd.DataFrame({"user": np.repeat(np.arange(n_users), n),
                      "item": np.concatenate([rng.permutation(20)[:n] for _ in range(n_users)])})
    s = pd.DataFrame({"user": np.arange(n_users), "item": rng.integers(0, 5, n_users)})
    if part is not None:
        t["part"], s["part"] = part * n_users, "train"
    return CrossDomainData.from_frames({"t": t, "s": s}, split="part" if part else None)


EMPTY = {
    # name: (make the split, the empty part, what the message must say besides)
    "leave_one_out, 2 each": (lambda: splits.leave_one_out(per_user(2), "t"), "test",
                              "fewer than 3 't' interactions.*valid=False"),
    "leave_one_out, 1 each, no valid": (lambda: splits.leave_one_out(per_user(1), "t", valid=False), "test",
                                        "fewer than 2 't' interactions"),
    "ratio, all train": (lambda: splits.ratio(per_user(5), "t", 1.0, 0.0), "test", "train=1.0.*smaller shares"),
    "ratio, valid share too small": (lambda: splits.ratio(per_user(4), "t", 0.5, 0.1), "valid",
                                     "valid=0.1 .*valid=0"),
    "cold_start, every user cold": (lambda: splits.cold_start(per_user(3), "t", 0.99), "train",
                                    "fraction=0.99 .*smaller fraction"),
    "cold_start, one cold user": (lambda: splits.cold_start(per_user(3), "t", 0.1), "valid",
                                  "makes 1 cold user.*raise the fraction"),
    "predefined, no test rows": (lambda: splits.predefined(per_user(3, part=["train"] * 3), "t"), "test",
                                 "no 'test' label"),
    "predefined, no train rows": (lambda: splits.predefined(per_user(2, part=["valid", "test"]), "t"), "train",
                                  "no 'train' label"),
    "predefined, nothing to carve": (lambda: splits.predefined(per_user(2, part=["train", "test"]), "t"),
                                     "valid", "valid_from_train=False"),
}


@pytest.mark.parametrize("case", list(EMPTY))
def test_an_empty_part_is_refused_with_what_to_change(case: str) -> None:
    make, part, says = EMPTY[case]
    kind = case.split(",")[0]
    with pytest.raises(ValueError, match=f"{kind} split of 't': the {part} part is empty; .*{says}"):
        make()


def test_an_empty_valid_part_is_kept_when_not_asked_for() -> None:
    assert len(splits.leave_one_out(per_user(2), "t", valid=False).valid) == 0
    assert len(splits.ratio(per_user(4), "t", 0.5, 0.0).valid) == 0
    s = splits.predefined(per_user(2, part=["train", "test"]), "t", valid_from_train=False)
    assert len(s.valid) == 0 and len(s.test) == 6

