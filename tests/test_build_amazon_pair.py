"""The datasets/build_amazon_pair.py recipe on small generated raw Amazon dumps."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cdgraph import CrossDomainData
from cdgraph.data import split as splits

SCRIPT = Path(__file__).resolve().parents[1] / "datasets" / "build_amazon_pair.py"
spec = importlib.util.spec_from_file_location("build_amazon_pair", SCRIPT)
build_amazon_pair = importlib.util.module_from_spec(spec)
spec.loader.exec_module(build_amazon_pair)


def write_raw(path: Path, seed: int, n_users: int, n_items: int, rows: int, prefix: str) -> pd.DataFrame:
    """A headerless ``user,item,rating,timestamp`` dump with skewed users/items, repeats, ASIN-like ids."""
    rng = np.random.default_rng(seed)
    user = np.minimum(rng.zipf(1.6, rows), n_users) - 1
    item = np.minimum(rng.zipf(1.5, rows), n_items) - 1
    frame = pd.DataFrame({"user": [f"A{u:05d}X" for u in user],
                          "item": [f"{prefix}{i:09d}" for i in item],  # leading zeros, like ASINs
                          "rating": rng.integers(1, 6, rows).astype(float),
                          "timestamp": rng.integers(1_300_000_000, 1_300_000_000 + 500, rows)})
    frame.to_csv(path, header=False, index=False)
    return frame


@pytest.fixture(scope="module")
def raw(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("raw")
    paths = {"sport": root / "ratings_Sports_and_Outdoors.csv", "cloth": root / "ratings_Clothing.csv"}
    write_raw(paths["sport"], 1, 300, 120, 4000, "0")
    write_raw(paths["cloth"], 2, 300, 150, 4000, "B")
    return paths


def load_folder(folder: Path) -> pd.DataFrame:
    parts = [pd.read_csv(folder / f"{p}.txt", sep="\t", header=None, names=["user", "item", "label"])
             .assign(part=p) for p in ("train", "test")]
    return pd.concat(parts, ignore_index=True)


@pytest.mark.parametrize("k, min_rating", [(2, None), (3, None), (5, 3.0)])
def test_build_pair_properties(raw, tmp_path, k: int, min_rating: float | None) -> None:
    argv = [str(raw["sport"]), str(raw["cloth"]), "--names", "sport", "cloth", "--k-core", str(k),
            "--out", str(tmp_path)]
    if min_rating is not None:
        argv += ["--min-rating", str(min_rating)]
    assert build_amazon_pair.main(argv) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cloth_sport", "sport_cloth", "sport_cloth.stats.json"]
    stats = json.loads((tmp_path / "sport_cloth.stats.json").read_text())
    assert stats["options"]["k_core"] == k
    frames = {"sport": load_folder(tmp_path / "sport_cloth"), "cloth": load_folder(tmp_path / "cloth_sport")}
    users = pd.read_csv(tmp_path / "sport_cloth" / "users.tsv", sep="\t")
    full = {d: pd.read_csv(tmp_path / f"{d}_{o}" / "interactions.tsv", sep="\t")
            for d, o in (("sport", "cloth"), ("cloth", "sport"))}
    raw_frames = {d: pd.read_csv(raw[d], header=None, names=["user", "item", "rating", "timestamp"], dtype=str)
                  for d in raw}
    n_users = len(users)
    assert n_users > 10 and users["user"].tolist() == list(range(n_users))
    for d, f in frames.items():
        assert (f["label"] == 1).all()
        assert set(f["user"]) == set(range(n_users))  # contiguous and shared: every user in both
        items = pd.read_csv(tmp_path / f"{d}_{'cloth' if d == 'sport' else 'sport'}" / "items.tsv", sep="\t",
                            dtype={"raw_item": str})
        assert sorted(f["item"].unique()) == list(range(len(items)))
        assert f.groupby("user").size().min() >= k and f.groupby("item").size().min() >= k  # k-core
        assert not f.duplicated(["user", "item"]).any()
        test, train = f[f["part"] == "test"], f[f["part"] == "train"]
        assert test["user"].is_unique and len(test) == n_users  # exactly one test item each
        assert not set(zip(test["user"], test["item"])) & set(zip(train["user"], train["item"]))
        # the test item is the user's latest, and the rows map back to raw lines
        g = full[d]
        assert (g.groupby("user")["timestamp"].max().to_numpy()
                == g[g["part"] == "test"].set_index("user")["timestamp"].sort_index().to_numpy()).all()
        raw_pairs = raw_frames[d]
        if min_rating is not None:
            assert (g["rating"] >= min_rating).all()
        raw_keys = set(zip(raw_pairs["user"], raw_pairs["item"]))
        mapped = zip(users["raw_user"].to_numpy()[g["user"]], items["raw_item"].to_numpy()[g["item"]])
        assert set(mapped) <= raw_keys
        assert items["raw_item"].str.len().eq(10).all()  # ids such as "0000000042" kept as text
    data = CrossDomainData.from_frames(frames, split="part")
    assert sorted(data.domains) == ["cloth", "sport"] and data.num_users == n_users
    s = splits.predefined(data, "cloth")
    assert len(s.test) == n_users and len(s.valid) > 0


def test_loads_with_read_and_reproduces_leave_one_out(raw, tmp_path) -> None:
    build_amazon_pair.main([str(raw["sport"]), str(raw["cloth"]), "--k-core", "3", "--out", str(tmp_path)])
    assert (tmp_path / "sports_clothing").is_dir()  # names from the file names
    paths = {"sports": tmp_path / "sports_clothing" / "interactions.tsv",
             "clothing": tmp_path / "clothing_sports" / "interactions.tsv"}
    data = CrossDomainData.read(paths, rating="rating", time="timestamp", split="part")
    shipped = splits.predefined(data, "clothing", valid_from_train=False)
    again = splits.leave_one_out(data, "clothing", valid=False)
    assert len(again.test) == len(shipped.test)
    # up to timestamp ties (broken at random by both), leave-one-out finds the same latest items
    latest = data.interactions("clothing").groupby("user")["time"].max()
    assert (shipped.test.set_index("user")["time"].sort_index() == latest.sort_index()).all()


def test_same_seed_same_output_and_atomic_overwrite(raw, tmp_path) -> None:
    args = [str(raw["sport"]), str(raw["cloth"]), "--names", "sport", "cloth", "--k-core", "2"]
    build_amazon_pair.main(args + ["--out", str(tmp_path / "a")])
    build_amazon_pair.main(args + ["--out", str(tmp_path / "b")])
    for name in ("sport_cloth/train.txt", "sport_cloth/test.txt", "cloth_sport/test.txt"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    with pytest.raises(FileExistsError, match="--overwrite"):
        build_amazon_pair.main(args + ["--out", str(tmp_path / "a")])
    build_amazon_pair.main(args + ["--out", str(tmp_path / "a"), "--overwrite", "--k-core", "4"])
    assert json.loads((tmp_path / "a" / "sport_cloth.stats.json").read_text())["options"]["k_core"] == 4
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == [
        "cloth_sport", "sport_cloth", "sport_cloth.stats.json"]  # no temporary folder left


def test_keep_unshared_and_no_k_core(raw, tmp_path) -> None:
    frames, user_ids, item_ids, stats = build_amazon_pair.build(
        {d: build_amazon_pair.read_ratings(p) for d, p in raw.items()}, k=0, shared_only=False)
    users = {d: set(f["user"]) for d, f in frames.items()}
    assert users["sport"] != users["cloth"] and set.union(*users.values()) == set(range(len(user_ids)))
    assert stats["shared_users"] == len(users["sport"] & users["cloth"])
    for f in frames.values():  # users with a single interaction keep it in train
        sizes = f.groupby("user").size()
        test_users = set(f.loc[f["part"] == "test", "user"])
        assert test_users == set(sizes[sizes >= 2].index)


def test_bad_raw_file_is_named(tmp_path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("A1,0001,5.0,1300000000\nA2,0002,,1300000001\n")
    with pytest.raises(ValueError, match="bad.csv"):
        build_amazon_pair.read_ratings(bad)
