"""The pairs with item text (LLMCDSR Food-Kitchen, URLLM Art-Office): counts of their SOURCE.md,
titles as item features, the predefined split of held-out new users, and safe unpickling."""
from __future__ import annotations

import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest

from cdgraph import datasets
from cdgraph.data.split import predefined
from cdgraph.datasets import ChecksumError, catalog
from cdgraph.datasets.pickles import read_plain_pickle

FOOD_KITCHEN, ART_OFFICE = "amazon-food-kitchen", "amazon-art-office"


@pytest.fixture(scope="module")
def food_kitchen(mirror):
    return datasets.load(FOOD_KITCHEN, root=mirror, download=False)


@pytest.fixture(scope="module")
def art_office(mirror):
    return datasets.load(ART_OFFICE, root=mirror, download=False)


def parts(data, domain: str) -> dict[str, int]:
    return data.interactions(domain)["part"].value_counts().to_dict()


# ------------------------------------------------------------- Food-Kitchen
@pytest.mark.realdata
def test_food_kitchen_counts(food_kitchen) -> None:
    data = food_kitchen
    summary = data.summary()
    # SOURCE.md: interactions per file and domain (train_A, train_B, train_overlap, valid, test)
    assert summary.loc["food", ["items", "interactions"]].tolist() == [8661, 37281 + 45849 + 8739 + 6447]
    assert summary.loc["kitchen", ["items", "interactions"]].tolist() == [27637, 265817 + 53321 + 9394 + 9279]
    assert data.num_users == 5472 + 38191 + 7501 + 960 + 937
    assert summary.loc["food", "users"] == 14870 and summary.loc["kitchen", "users"] == 47589
    assert summary.loc["food", "shared_kitchen"] == 9398  # the 7,501 overlapping + held-out users in both
    raw = data.user_ids.to_series()
    assert [int(raw.str.startswith(f"{g}:").sum()) for g in ("A", "B", "overlap", "valid", "test")] == \
        [5472, 38191, 7501, 960, 937]
    assert parts(data, "food") == {"train": 98316 - 663, "valid": 363, "test": 300}
    assert parts(data, "kitchen") == {"train": 337811 - 1234, "valid": 597, "test": 637}
    assert data.meta["protocol"]["num_negatives"] == 999 and "NDCG@3" in data.meta["protocol"]["metrics"]


@pytest.mark.realdata
def test_food_kitchen_titles(food_kitchen) -> None:
    data = food_kitchen
    assert summary_coverage(data) == {"food": 1.0, "kitchen": 1.0}
    assert data.item_feature_columns("food") == {"title": "text"}
    for domain in data.domains:
        assert all(data.item_text(domain))  # every title non-empty
    food = dict(zip(data.item_ids["food"], data.item_text("food")))
    kitchen = dict(zip(data.item_ids["kitchen"], data.item_text("kitchen")))
    assert food["9742356831"] == "Mae Ploy Thai Green Curry Paste - 14 oz jar"  # raw item ids are ASINs
    assert kitchen["0615391206"] == "Zoku Quick Pops Recipe Book"


@pytest.mark.realdata
@pytest.mark.parametrize("target, valid, test", [("food", 363, 300), ("kitchen", 597, 637)])
def test_food_kitchen_predefined_split(food_kitchen, target, valid, test) -> None:
    split = predefined(food_kitchen, target)
    assert (split.valid["user"].nunique(), split.test["user"].nunique()) == (valid, test)
    assert len(split.valid) == valid and len(split.test) == test  # one held-out item per user
    held = np.union1d(split.valid["user"], split.test["user"])
    assert set(food_kitchen.user_ids[held].str.split(":").str[0]) == {"valid", "test"}
    # the held-out users' earlier items are trained on; the other domain's held-out items are not
    assert np.isin(held, np.union1d(*(f["user"] for f in split.train.values()))).mean() > 0.99
    assert sum(map(len, split.train.values())) == 98316 + 337811 - (363 + 300 + 597 + 637)


# ---------------------------------------------------------------- Art-Office
@pytest.mark.realdata
def test_art_office_counts(art_office) -> None:
    data = art_office
    summary = data.summary()
    # SOURCE.md: distinct (user, item) incl. targets per file, and of them Art
    assert summary.loc["art", "interactions"] == 98980 + 3642 + 7394
    assert summary.loc["office", "interactions"] == (181391 - 98980) + (8747 - 3642) + (16523 - 7394)
    assert data.num_users == 8000 + 577 + 1000 == len(data.shared_users("art", "office"))
    assert summary.loc["art", "items"] == 18639 and summary.loc["office", "items"] == 19757
    assert data.interactions("office")["item"].nunique() == 15780  # the rest: catalogue only
    assert data.meta["catalogue_only_items"] == {"art": 0, "office": 19757 - 15780}
    assert parts(data, "art") == {"train": 110016 - 601 - 1050, "valid": 601, "test": 1050}
    assert parts(data, "office") == {"train": 96645 - 553 - 950, "valid": 553, "test": 950}


@pytest.mark.realdata
def test_art_office_titles_and_attributes(art_office) -> None:
    data = art_office
    assert summary_coverage(data) == {"art": 1.0, "office": 1.0}
    assert data.item_feature_columns("office") == {"title": "text", "attribute": "text"}
    table = data.item_features("office")
    assert table.loc[18639, "attribute"] == ("office products office school supplies printer ink toner "
                                             "inkjet printer ink ld products")
    titles = data.item_text("art", "title")
    assert all(titles) and titles[data.item_index("art", 1)[0]] == "sulky universal slimline storage box"


@pytest.mark.realdata
@pytest.mark.parametrize("target, valid, test", [
    # SOURCE.md: valid 553 users with one Art and one Office target, 24 with two Art targets;
    # test 950 and 50.
    ("art", (553 + 24, 553 + 2 * 24), (950 + 50, 950 + 2 * 50)), ("office", (553, 553), (950, 950))])
def test_art_office_predefined_split(art_office, target, valid, test) -> None:
    split = predefined(art_office, target)
    assert (split.valid["user"].nunique(), len(split.valid)) == valid
    assert (split.test["user"].nunique(), len(split.test)) == test
    raw = art_office.user_ids  # upstream's user ids: valid 9000-9576, test 8000-8999
    assert raw[split.valid["user"]].min() >= 9000 and 8000 <= raw[split.test["user"]].min() < 9000
    assert sum(map(len, split.train.values())) == 110016 + 96645 - (601 + 1050 + 553 + 950)


def summary_coverage(data) -> dict[str, float]:
    return data.summary()["item_features"].to_dict()


# ---------------------------------------------------------------- safe unpickling
class _Payload:
    """Unpickling it calls open(marker, "w"): a file appears if the pickle runs."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return open, (str(self.marker), "w")


def plant(path: Path, marker: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps({"B000BIZT3E": _Payload(marker)}))
    return path


def test_the_planted_pickle_is_live(tmp_path) -> None:
    marker = tmp_path / "ran"
    pickle.loads(plant(tmp_path / "live.pkl", marker).read_bytes())  # what pickle.load would do
    assert marker.exists()


def test_safe_reader_refuses_every_global_and_runs_nothing(tmp_path) -> None:
    marker = tmp_path / "ran"
    path = plant(tmp_path / "text_A.pkl", marker)
    with pytest.raises(ValueError) as err:
        read_plain_pickle(path, FOOD_KITCHEN)
    assert str(path) in str(err.value) and "names the global" in str(err.value)
    assert not marker.exists()
    plain = tmp_path / "plain.pkl"
    plain.write_bytes(pickle.dumps({"a": "title", "b": 3, "c": [1.5, None, (True, b"x")]}))
    assert read_plain_pickle(plain) == {"a": "title", "b": 3, "c": [1.5, None, (True, b"x")]}


def test_truncated_pickle_is_refused_naming_the_file(tmp_path) -> None:
    path = tmp_path / "item_set_A.pkl"
    path.write_bytes(pickle.dumps({"a": 1})[:-3])
    with pytest.raises(ValueError, match="item_set_A.pkl"):
        read_plain_pickle(path)


@pytest.mark.realdata
def test_tampered_pickle_in_root_is_refused_by_checksum(mirror, tmp_path) -> None:
    files = datasets.info(FOOD_KITCHEN)["files"]
    for rel in files:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(mirror / rel, tmp_path / rel)
    marker = tmp_path / "ran"
    bad = plant(tmp_path / "amazon_llmcdsr/food-kitchen/text_A.pkl", marker)
    with pytest.raises(ChecksumError) as err:
        datasets.load(FOOD_KITCHEN, root=tmp_path, download=False)
    assert str(bad) in str(err.value) and not marker.exists() and bad.exists()


@pytest.mark.realdata
def test_loader_reads_pickles_only_with_the_safe_reader(mirror, tmp_path, monkeypatch) -> None:
    """Were a tampered file to pass the checksum, the loader would still refuse to run it."""
    files = datasets.info(FOOD_KITCHEN)["files"]
    for rel in files:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(mirror / rel, tmp_path / rel)
    marker = tmp_path / "ran"
    rel = "amazon_llmcdsr/food-kitchen/item_set_B.pkl"
    bad = plant(tmp_path / rel, marker)
    monkeypatch.setitem(catalog.FILES, rel, (bad.stat().st_size, datasets.download.sha256_file(bad)))
    with pytest.raises(ValueError) as err:
        datasets.load(FOOD_KITCHEN, root=tmp_path, download=False)
    assert str(bad) in str(err.value) and "nothing of it was run" in str(err.value)
    assert not marker.exists()
