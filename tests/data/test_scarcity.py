"""Scarce-data splits: cold items (held out whole, still recommendable) and a thinned bridge."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cdgraph import CrossDomainData
from cdgraph.data.scarcity import cold_items, thin_bridge, thin_bridge_split
from cdgraph.data.split import SPLITS, Split, cold_start, leave_one_out, predefined
from cdgraph.datasets import synthetic


@pytest.fixture(scope="module")
def data() -> CrossDomainData:
    return synthetic(num_users=300, items_per_domain=(120, 80), interactions_per_domain=(3000, 2000),
                     shared_fraction=0.6, domains=("music", "books"), seed=5)


def keys(frame: pd.DataFrame) -> set[tuple[int, int]]:
    return set(zip(frame["user"].tolist(), frame["item"].tolist()))


def shared(split: Split, domain: str) -> np.ndarray:
    return np.intersect1d(split.train[domain]["user"], split.train[split.target]["user"])


def test_registered_by_name() -> None:
    assert SPLITS.get("cold_items") is cold_items and SPLITS.get("thin_bridge") is thin_bridge_split


# ---------------------------------------------------------------- cold items
@pytest.mark.parametrize("fraction", [0.05, 0.2, 0.5])
def test_cold_items_lose_every_training_interaction_and_are_held_out(data, fraction) -> None:
    s = cold_items(data, "music", fraction, seed=1)
    target = data.interactions("music")
    cold = s.info["cold_items"]
    assert len(cold) == round(fraction * target["item"].nunique())  # the share is respected
    assert not np.isin(s.train["music"]["item"], cold).any()
    assert keys(s.valid) | keys(s.test) == keys(target[target["item"].isin(cold)])
    valid_items, test_items = s.info["valid_items"], s.info["test_items"]
    assert set(s.valid["item"]) == set(valid_items) and set(s.test["item"]) == set(test_items)
    assert not np.intersect1d(valid_items, test_items).size and abs(len(valid_items) - len(test_items)) <= 1
    assert data.num_items("music") == 120 and s.data is data  # still in the index: recommendable
    pd.testing.assert_frame_equal(s.train["books"], data.interactions("books"))


def test_cold_items_lists_the_users_left_without_target_training(data) -> None:
    s = cold_items(data, "music", 0.5, seed=2)
    held = np.union1d(s.valid["user"], s.test["user"])
    expected = np.setdiff1d(held, s.train["music"]["user"])
    np.testing.assert_array_equal(s.cold_users, expected)


def test_cold_items_are_drawn_among_items_with_interactions(data) -> None:
    grown = CrossDomainData(data._inter, data.user_ids, dict(data.item_ids))  # catalogue-only items
    grown.item_ids["music"] = pd.RangeIndex(200, name="item")
    for seed in range(5):
        assert (cold_items(grown, "music", 0.5, seed=seed).info["cold_items"] < 120).all()


def test_cold_items_seeds_reproduce(data) -> None:
    a, b, c = (cold_items(data, "music", 0.3, seed=s) for s in (7, 7, 8))
    for part in ("train", "valid", "test"):
        pd.testing.assert_frame_equal(a.part(part), b.part(part))
    assert not np.array_equal(a.info["cold_items"], c.info["cold_items"])


@pytest.mark.parametrize("fraction, match", [(0.001, "at least 2.*raise the fraction"),
                                             (1.0, r"must be in \(0, 1\)"), (0.0, r"must be in \(0, 1\)")])
def test_cold_items_errors_say_what_to_change(data, fraction, match) -> None:
    with pytest.raises(ValueError, match=match):
        cold_items(data, "music", fraction)


def test_cold_items_refuses_to_leave_no_warm_item() -> None:
    frames = {"a": pd.DataFrame({"user": [1, 2, 3], "item": [1, 2, 3]}),
              "b": pd.DataFrame({"user": [1], "item": [9]})}
    with pytest.raises(ValueError, match="train part is empty.*smaller fraction"):
        cold_items(CrossDomainData.from_frames(frames), "a", 0.9)


# ---------------------------------------------------------------- thin bridge
@pytest.mark.parametrize("keep", [0.1, 0.5, 1.0])
def test_thin_bridge_keeps_the_asked_share_of_shared_users(data, keep) -> None:
    base = leave_one_out(data, "music")
    s = thin_bridge(base, keep=keep, seed=3)
    before, after = shared(base, "books"), shared(s, "books")
    assert len(after) == round(keep * len(before)) and set(after) <= set(before)
    np.testing.assert_array_equal(after, s.info["thin_bridge"]["kept_users"])
    source = base.train["books"]
    kept_rows = ~source["user"].isin(np.setdiff1d(before, after))
    pd.testing.assert_frame_equal(s.train["books"], source[kept_rows].reset_index(drop=True))
    for part in ("train", "valid", "test"):  # the target is untouched
        pd.testing.assert_frame_equal(s.part(part), base.part(part))
    assert s.data is data and s.kind == "leave_one_out+thin_bridge"


def test_thin_bridge_seeds_reproduce(data) -> None:
    base = leave_one_out(data, "music")
    a, b, c = (thin_bridge(base, 0.3, seed=s) for s in (4, 4, 5))
    pd.testing.assert_frame_equal(a.train["books"], b.train["books"])
    assert not a.train["books"].equals(c.train["books"])


def test_thin_bridge_composes_with_other_splits(data) -> None:
    cold = cold_start(data, "music", 0.2)
    s = thin_bridge(cold, keep=0.2)
    np.testing.assert_array_equal(s.cold_users, cold.cold_users)
    cold_rows = cold.train["books"][cold.train["books"]["user"].isin(cold.cold_users)]
    assert keys(cold_rows) <= keys(s.train["books"])  # cold users keep the history they are ranked by
    twice = thin_bridge(s, keep=0.5, seed=1)
    assert len(shared(twice, "books")) == round(0.5 * len(shared(s, "books")))
    via_registry = SPLITS.get("thin_bridge")(data, "music", keep=0.2, base="cold_items", fraction=0.3)
    direct = thin_bridge(cold_items(data, "music", 0.3), keep=0.2)
    pd.testing.assert_frame_equal(via_registry.train["books"], direct.train["books"])
    assert via_registry.kind == "cold_items+thin_bridge"


def test_thin_bridge_keeps_fixed_negatives_and_info() -> None:
    frames = {d: pd.DataFrame({"user": [1, 2, 3, 1, 2], "item": [1, 2, 3, 4, 5],
                               "part": ["train", "train", "train", "test", "test"]}) for d in ("a", "b")}
    data = CrossDomainData.from_frames(frames, split="part")
    base = predefined(data, "a", valid_from_train=False)
    base.test_negatives = np.zeros((len(base.test), 3), np.int64)
    s = thin_bridge(base, keep=0.5)
    assert s.test_negatives is base.test_negatives and s.info["valid_from_train"] is False


@pytest.mark.parametrize("options, exc, match", [
    (dict(keep=0.0), ValueError, r"keep must be in \(0, 1\]"),
    (dict(keep=0.001), ValueError, "keeps none; use keep >="),
    (dict(keep="0.5"), TypeError, "keep must be a number"),
    (dict(domain="music"), ValueError, "is the target"),
    (dict(domain="films"), ValueError, "Unknown domain 'films'")])
def test_thin_bridge_errors_say_what_to_change(data, options, exc, match) -> None:
    with pytest.raises(exc, match=match):
        thin_bridge(leave_one_out(data, "music"), **options)


def test_thin_bridge_names_the_sources_to_choose_from() -> None:
    frames = {d: pd.DataFrame({"user": [1, 1, 2, 2, 3, 3], "item": [1, 2, 1, 3, 2, 3]})
              for d in ("a", "b", "c")}
    base = leave_one_out(CrossDomainData.from_frames(frames), "a", valid=False)
    with pytest.raises(ValueError, match=r"sources \['b', 'c'\].*domain="):
        thin_bridge(base)
    assert len(shared(thin_bridge(base, keep=0.5, domain="c"), "c")) == 2  # round(0.5 * 3)
    with pytest.raises(TypeError, match="thin_bridge_split"):
        thin_bridge(base.data)
