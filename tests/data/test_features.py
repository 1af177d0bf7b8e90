"""Item side information: alignment to the item index, accessors, checks, files, and that it
survives everything that splits or grows the data."""
from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest

from cdgraph import CrossDomainData
from cdgraph.data.scarcity import cold_items, thin_bridge
from cdgraph.data.split import SPLITS, leave_one_out, predefined


def frames() -> dict[str, pd.DataFrame]:
    """Two domains: food items "a".."e" (string ids), kitchen items 10..13 (integer ids)."""
    food = pd.DataFrame({"user": [1, 1, 2, 2, 3, 3, 4, 4, 5, 5],
                         "item": ["a", "b", "a", "c", "b", "d", "c", "e", "a", "e"]})
    kitchen = pd.DataFrame({"user": [1, 2, 3, 4, 6, 6], "item": [10, 11, 12, 10, 13, 11]})
    for frame in (food, kitchen):
        frame["part"] = "train"
    food.loc[[3, 9], "part"] = "test"
    return {"food": food, "kitchen": kitchen}


def food_table() -> pd.DataFrame:
    """Rows out of item order, one item (d) without a row, one missing title."""
    return pd.DataFrame({"item": ["c", "a", "e", "b"],
                         "title": ["Curry paste", "Apple", None, "Bread"],
                         "brand": ["Mae Ploy", "", "Zoku", "Bakery"],
                         "price": [2.5, 1.0, 3.0, 2.0],
                         "emb": [np.arange(3.0), [1, 1, 1], (0.5, 0.5, 0.5), np.ones(3, np.float32)]})


def make(**tables) -> CrossDomainData:
    return CrossDomainData.from_frames(frames(), split="part",
                                       item_features=tables or {"food": food_table()})


# ---------------------------------------------------------------- alignment
def test_features_are_aligned_to_the_item_index() -> None:
    data = make()
    ids = list(data.item_ids["food"])
    table = data.item_features("food")
    assert list(table.index) == ids and table.index.name == "item"
    assert list(table.columns) == ["title", "brand", "price", "emb"]
    assert table.loc["c", "title"] == "Curry paste" and table.loc["a", "price"] == 1.0
    assert table.loc["d"].isna().all()  # no row: NaN everywhere
    assert pd.isna(table.loc["e", "title"]) and table.loc["e", "brand"] == "Zoku"
    np.testing.assert_array_equal(table.loc["a", "emb"], [1, 1, 1])
    assert data.item_feature_columns("food") == {"title": "text", "brand": "text", "price": "number",
                                                 "emb": "vector"}


def test_item_text_joins_the_text_fields_per_item_index() -> None:
    data = make()
    text = dict(zip(data.item_ids["food"], data.item_text("food")))
    assert text == {"a": "Apple", "b": "Bread Bakery", "c": "Curry paste Mae Ploy", "d": "", "e": "Zoku"}
    by_brand = dict(zip(data.item_ids["food"], data.item_text("food", ["brand", "title"], sep=" | ")))
    assert by_brand["c"] == "Mae Ploy | Curry paste" and by_brand["a"] == "Apple"
    assert data.item_text("food", "title")[list(data.item_ids["food"]).index("e")] == ""
    assert data.item_text("kitchen") == [""] * data.num_items("kitchen")  # no features: all empty


def test_item_vectors_stack_numbers_and_vectors_with_a_mask() -> None:
    data = make()
    matrix, mask = data.item_vectors("food")
    assert matrix.dtype == np.float32 and matrix.shape == (data.num_items("food"), 4)
    ids = list(data.item_ids["food"])
    assert mask.tolist() == [i != "d" for i in ids]
    np.testing.assert_array_equal(matrix[ids.index("c")], [2.5, 0, 1, 2])
    np.testing.assert_array_equal(matrix[ids.index("d")], 0)
    only_emb, _ = data.item_vectors("food", "emb")
    assert only_emb.shape[1] == 3


def test_missing_vectors_are_masked() -> None:
    table = pd.DataFrame({"item": ["a", "b", "c"], "emb": [[1.0, 2.0], None, np.nan]})
    data = make(food=table)
    matrix, mask = data.item_vectors("food")
    ids = list(data.item_ids["food"])
    assert [ids[i] for i in np.flatnonzero(mask)] == ["a"]
    np.testing.assert_array_equal(matrix[ids.index("b")], [0, 0])
    assert data.summary().loc["food", "item_features"] == pytest.approx(3 / 5)  # rows, vectors or not


def test_summary_reports_the_coverage_per_domain() -> None:
    summary = make(food=food_table(), kitchen=pd.DataFrame({"item": [13], "title": ["Pot"]})).summary()
    assert summary.loc["food", "item_features"] == pytest.approx(4 / 5)
    assert summary.loc["kitchen", "item_features"] == pytest.approx(1 / 4)
    assert CrossDomainData.from_frames(frames()).summary()["item_features"].tolist() == [0.0, 0.0]


def test_the_item_id_can_be_another_column_or_the_index() -> None:
    table = food_table().rename(columns={"item": "asin"})
    data = CrossDomainData.from_frames(frames(), item_features={"food": table}, feature_item="asin")
    assert data.item_text("food") == make().item_text("food")
    data.set_item_features("food", table.set_index("asin"), item="asin")
    assert data.item_text("food") == make().item_text("food")
    data.set_item_features("food", food_table().set_index("item"))  # index named like item_ids
    assert data.item_text("food") == make().item_text("food")


@pytest.mark.parametrize("text_dtype", [object, "string"])
def test_caller_table_is_not_modified(text_dtype) -> None:
    table = food_table().astype({"title": text_dtype, "brand": text_dtype})
    before = copy.deepcopy(table)
    data = make(food=table)
    pd.testing.assert_frame_equal(table, before)
    assert table["title"].isna().tolist() == [False, False, True, False]
    out = data.item_features("food")
    out.loc["a", "title"] = "changed"
    assert data.item_features("food").loc["a", "title"] == "Apple"


# ---------------------------------------------------------------- survival
@pytest.mark.parametrize("make_split", [
    lambda d: leave_one_out(d, "food", valid=False), lambda d: predefined(d, "food", valid_from_train=False),
    lambda d: cold_items(d, "food", 0.4), lambda d: thin_bridge(leave_one_out(d, "food", valid=False), 0.5),
    lambda d: SPLITS.get("ratio")(d, "food", 0.5, 0.0)])
def test_splits_keep_the_data_and_its_features(make_split) -> None:
    data = make()
    split = make_split(data)
    assert split.data is data
    assert split.data.item_text("food") == data.item_text("food")


def test_features_set_later_are_seen_by_existing_splits() -> None:
    data = CrossDomainData.from_frames(frames())
    split = leave_one_out(data, "food", valid=False)
    data.set_item_features("food", food_table())
    assert split.data.item_feature_columns("food")["emb"] == "vector"


def test_items_appended_to_the_index_have_no_features() -> None:
    data = make()
    ids = data.item_ids["food"]
    data.item_ids["food"] = ids.append(pd.Index(["z"], name=ids.name))  # as loaders add catalogue items
    table = data.item_features("food")
    assert len(table) == 6 and table.loc["z"].isna().all()
    matrix, mask = data.item_vectors("food")
    assert matrix.shape == (6, 4) and not mask[-1]
    assert data.item_text("food")[-1] == ""
    assert data.summary().loc["food", "item_features"] == pytest.approx(4 / 6)


def test_copies_keep_the_features() -> None:
    data = make()
    assert copy.deepcopy(data).item_text("food") == data.item_text("food")


# ---------------------------------------------------------------- read files
def test_read_takes_feature_files(tmp_path) -> None:
    for domain, frame in frames().items():
        frame.to_csv(tmp_path / f"{domain}.csv", index=False)
    pd.DataFrame({"item": ["c", "a"], "title": ["Curry, paste", "Apple"], "w": [1.5, 2.0]}).to_csv(
        tmp_path / "food_items.csv", index=False)
    (tmp_path / "kitchen_items.tsv").write_text("item\ttitle\n 10\tPan\n13\tPot\n")
    data = CrossDomainData.read({d: tmp_path / f"{d}.csv" for d in ("food", "kitchen")},
                                item_features={"food": tmp_path / "food_items.csv",
                                               "kitchen": tmp_path / "kitchen_items.tsv"})
    assert data.item_text("food")[list(data.item_ids["food"]).index("c")] == "Curry, paste"
    kitchen = dict(zip(data.item_ids["kitchen"], data.item_text("kitchen")))
    assert kitchen == {10: "Pan", 11: "", 12: "", 13: "Pot"}  # ids read as the items' integers


def test_read_keeps_string_ids_of_string_items(tmp_path) -> None:
    (tmp_path / "a.csv").write_text("user,item\n1,007\n2,x\n")
    (tmp_path / "b.csv").write_text("user,item\n1,5\n")
    (tmp_path / "a_items.csv").write_text("item,title\n007,Bond\n")
    data = CrossDomainData.read({"a": tmp_path / "a.csv", "b": tmp_path / "b.csv"},
                                item_features={"a": tmp_path / "a_items.csv"})
    assert data.item_text("a") == ["Bond", ""]


# ---------------------------------------------------------------- bad tables
BAD = {
    # name: (food table, exception, substrings of the message)
    "unknown item": (food_table().assign(item=["c", "a", "zz", "b"]), ValueError,
                     ["'food'", "'item'", "row 2", "'zz'", "not among the 5 items of domain", "drop"]),
    "duplicated item": (food_table().assign(item=["c", "a", "c", "b"]), ValueError,
                        ["'food'", "'item'", "row 2", "row 0", "one row"]),
    "missing id": (food_table().assign(item=["c", None, "e", "b"]), ValueError,
                   ["'food'", "'item'", "row 1"]),
    "integer ids for string items": (food_table().assign(item=[1, 2, 3, 4]), TypeError,
                                     ["'food'", "'item'", "row 0", "string ids"]),
    "NaN in a vector": (food_table().assign(emb=[np.zeros(3), [1, np.nan, 1], np.ones(3), np.ones(3)]),
                        ValueError, ["'food'", "'emb'", "row 1", "position 1", "NaN or infinite"]),
    "inf in a vector": (food_table().assign(emb=[np.zeros(3), np.ones(3), np.ones(3), [0, 0, np.inf]]),
                        ValueError, ["'food'", "'emb'", "row 3", "position 2"]),
    "vector of the wrong width": (food_table().assign(emb=[np.zeros(3), np.ones(3), np.ones(4), np.ones(3)]),
                                  ValueError, ["'food'", "'emb'", "row 2", "width 4", "width 3"]),
    "2-d vector": (food_table().assign(emb=[np.zeros(3), np.ones((3, 1)), np.ones(3), np.ones(3)]),
                   ValueError, ["'food'", "'emb'", "row 1", "1-D"]),
    "text in a vector": (food_table().assign(emb=[np.zeros(3), ["a", "b", "c"], np.ones(3), np.ones(3)]),
                         TypeError, ["'food'", "'emb'", "row 1", "real numbers"]),
    "scalar in a vector column": (food_table().assign(emb=[np.zeros(3), np.ones(3), 4.0, np.ones(3)]),
                                  TypeError, ["'food'", "'emb'", "row 2", "arrays"]),
    "NaN number": (food_table().assign(price=[1.0, np.nan, 2.0, 3.0]), ValueError,
                   ["'food'", "'price'", "row 1", "missing number", "drop the row"]),
    "infinite number": (food_table().assign(price=[1.0, 2.0, -np.inf, 3.0]), ValueError,
                        ["'food'", "'price'", "row 2", "finite"]),
    "number too large for float32": (food_table().assign(price=[1.0, 1e300, 2.0, 3.0]), ValueError,
                                     ["'food'", "'price'", "row 1", "float32"]),
    "number in a text column": (food_table().assign(title=["a", "b", 3, "d"]), TypeError,
                                ["'food'", "'title'", "row 2", "astype(str)"]),
    "dates": (food_table().assign(when=pd.to_datetime(["2020-01-01"] * 4)), TypeError, ["'food'", "'when'"]),
    "no id column": (food_table().rename(columns={"item": "asin"}), ValueError,
                     ["'food'", "no item id column 'item'", "feature_item="]),
    "no feature column": (food_table()[["item"]], ValueError, ["'food'", "no feature column"]),
    "repeated column": (pd.concat([food_table(), food_table()[["title"]]], axis=1), ValueError,
                        ["'food'", "'title'", "unique"]),
    "non-string column label": (food_table().rename(columns={"title": 0}), TypeError, ["'food'", "strings"]),
    "not a DataFrame": ({"item": ["a"]}, TypeError, ["'food'", "DataFrame", "dict"]),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_tables_are_refused_naming_domain_column_and_row(case: str) -> None:
    table, exc, parts = BAD[case]
    with pytest.raises(exc) as err:
        make(food=table)
    for part in parts:
        assert part in str(err.value), (part, str(err.value))


def test_unknown_domain_in_item_features() -> None:
    with pytest.raises(ValueError, match=r"'drinks'.*\['food', 'kitchen'\]"):
        make(drinks=food_table())
    with pytest.raises(TypeError, match="dict of domain name"):
        CrossDomainData.from_frames(frames(), item_features=[food_table()])
    with pytest.raises(ValueError, match=r"Unknown domain 'drinks'"):
        make().set_item_features("drinks", food_table())


def test_a_refused_table_leaves_the_data_unchanged() -> None:
    data = make()
    before = data.item_features("food")
    with pytest.raises(ValueError, match="row 1"):
        data.set_item_features("food", food_table().assign(price=[1.0, np.nan, 2.0, 3.0]))
    pd.testing.assert_frame_equal(data.item_features("food"), before)


def test_accessor_errors_name_what_exists() -> None:
    data = make()
    with pytest.raises(ValueError, match=r"no item feature column 'colour'.*'title'"):
        data.item_text("food", "colour")
    with pytest.raises(ValueError, match=r"'price' holds number values, not text.*\['title', 'brand'\]"):
        data.item_text("food", ["title", "price"])
    with pytest.raises(ValueError, match=r"'kitchen' has no item features"):
        data.item_vectors("kitchen")
    text_only = make(food=food_table()[["item", "title"]])
    with pytest.raises(ValueError, match="no numeric item feature column"):
        text_only.item_vectors("food")


def test_feature_file_errors_name_the_domain_and_file(tmp_path) -> None:
    for domain, frame in frames().items():
        frame.to_csv(tmp_path / f"{domain}.csv", index=False)
    paths = {d: tmp_path / f"{d}.csv" for d in ("food", "kitchen")}
    (tmp_path / "asin.csv").write_text("asin,title\na,Apple\n")
    with pytest.raises(ValueError, match=r"item_features\['food'\].*missing\.csv"):
        CrossDomainData.read(paths, item_features={"food": tmp_path / "missing.csv"})
    with pytest.raises(ValueError, match=r"item_features\['food'\].*asin\.csv.*feature_item="):
        CrossDomainData.read(paths, item_features={"food": tmp_path / "asin.csv"})
    data = CrossDomainData.read(paths, item_features={"food": tmp_path / "asin.csv"}, feature_item="asin")
    assert data.item_text("food")[0] == "Apple"
    with pytest.raises(TypeError, match="DataFrame or a file path"):
        CrossDomainData.read(paths, item_features={"food": 3})
