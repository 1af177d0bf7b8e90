"""Every mirrored pair loads with the counts of its SOURCE.md and splits as its paper does."""
from __future__ import annotations

import numpy as np
import pytest

from cdgraph import datasets
from cdgraph.data.split import leave_one_out, predefined

pytestmark = pytest.mark.realdata

# SOURCE.md (amazon_disencdr): domain -> users, train interactions, train items,
# items in the index (train items; id max + 1 where the Bi-TGCF negatives add items), test rows.
DISENCDR = {
    "amazon-sport-cloth": {"sport": (9928, 92612, 30796, 30796, 8326),
                           "cloth": (9928, 87829, 39008, 39008, 7540)},
    "amazon-sport-phone": {"sport": (4998, 50558, 20845, 20845, 3698),
                           "phone": (4998, 42446, 13655, 13655, 3999)},
    "amazon-elec-phone": {"elec": (3325, 115554, 38706, 39463, 2560),
                          "phone": (3325, 50407, 17709, 18462, 2559)},
    "amazon-elec-cloth": {"elec": (15761, 210865, 51447, 51447, 13824),
                          "cloth": (15761, 121083, 48781, 48781, 12526)},
}
# SOURCE.md (amazon_cdrib_coldstart): domain -> train users / items / interactions,
# cold users (first, last raw id), valid rows (users), test rows (users).
CDRIB = {
    "amazon-coldstart-game-video": (2179, 1736, {
        "game": (24799, 12319, 155036, 226, (1953, 2178), (1381, 213), (1304, 212)),
        "video": (19240, 8751, 156091, 217, (1736, 1952), (1435, 210), (1458, 216))}),
    "amazon-coldstart-cloth-sport": (9828, 7856, {
        "cloth": (40839, 17943, 187880, 990, (8838, 9827), (3156, 915), (3085, 907)),
        "sport": (26346, 12655, 163291, 982, (7856, 8837), (3589, 912), (3546, 897))}),
}


def _part(data, domain, part):
    frame = data.interactions(domain)
    return frame[frame["part"] == part]


@pytest.mark.parametrize("name", sorted(DISENCDR))
def test_disencdr_counts(mirror, name):
    data = datasets.load(name, root=mirror, download=False)
    assert data.name == name and data.domains == list(DISENCDR[name])
    assert data.meta["protocol"]["num_negatives"] == 999
    for domain, (users, train, train_items, items, test) in DISENCDR[name].items():
        rows = _part(data, domain, "train")
        assert (len(data.users(domain)), len(rows), rows["item"].nunique()) == (users, train, train_items)
        assert data.num_items(domain) == items
        assert len(_part(data, domain, "test")) == test
    assert data.num_users == len(data.shared_users(*data.domains)) == users


@pytest.mark.parametrize("name", sorted(CDRIB))
def test_cdrib_counts(mirror, name):
    overlap, warm, table = CDRIB[name]
    data = datasets.load(name, root=mirror, download=False)
    assert data.meta["overlap"] == overlap
    assert len(data.shared_users(*data.domains)) == overlap
    trains = [_part(data, d, "train")["user"].unique() for d in data.domains]
    assert len(np.intersect1d(*trains)) == warm
    for domain, (users, items, inter, n_cold, id_range, valid, test) in table.items():
        train = _part(data, domain, "train")
        assert (train["user"].nunique(), train["item"].nunique(), len(train)) == (users, items, inter)
        assert data.num_items(domain) == items
        for part, (rows, part_users) in (("valid", valid), ("test", test)):
            frame = _part(data, domain, part)
            assert (len(frame), frame["user"].nunique()) == (rows, part_users)
        cold = data.meta["cold_users"][domain]
        raw = data.user_ids[cold].astype(int)
        assert len(cold) == n_cold and (raw.min(), raw.max()) == id_range
        assert not np.isin(cold, train["user"]).any()


def test_cdrib_domain_only_users_are_distinct_people(mirror):
    data = datasets.load("amazon-coldstart-game-video", root=mirror, download=False)
    assert "game:2179" in data.user_ids and "video:2179" in data.user_ids and "2179" not in data.user_ids
    assert data.num_users == 25025 + 19457 - 2179


def test_douban_counts_and_last_line_protocol(mirror):
    data = datasets.load("douban-book-music", root=mirror, download=False)
    summary = data.summary()
    assert summary.loc["book", ["users", "items", "interactions"]].tolist() == [2110, 6777, 96041]
    assert summary.loc["music", ["users", "items", "interactions"]].tolist() == [1672, 5567, 69709]
    assert summary.loc["book", "shared_music"] == 1566 and data.num_users == 2216
    assert data.has_rating and data.meta["protocol"] == {
        "split": "leave_one_out", "num_negatives": 99, "metrics": ["HR@10", "NDCG@10"]}
    raw = np.loadtxt(mirror / "douban_gadtcdr/douban_book/ratings.dat", dtype=np.int64)
    last = {u: i for u, i, _ in raw}  # last line of each user wins
    test = leave_one_out(data, "book").raw("test")
    assert len(test) == 1870 and all(last[u] == i for u, i in zip(test["user"], test["item"]))


@pytest.mark.parametrize("name", sorted(DISENCDR) + sorted(CDRIB))
def test_predefined_split_invariants(mirror, name):
    data = datasets.load(name, root=mirror, download=False)
    for target in data.domains:
        split = predefined(data, target)
        assert len(split.test) == len(_part(data, target, "test"))
        assert len(split.train[target]) + len(split.valid) + len(split.test) == len(data.interactions(target))
        other = next(d for d in data.domains if d != target)
        assert len(split.train[other]) == len(_part(data, other, "train"))
        if name in CDRIB:
            assert len(split.valid) == len(_part(data, target, "valid"))
            assert np.array_equal(split.cold_users, data.meta["cold_users"][target])


def test_elec_phone_fixed_negatives(mirror):
    data = datasets.load("amazon-elec-phone", root=mirror, download=False)
    for domain, raw_dir in (("elec", "electronic_phone"), ("phone", "phone_electronic")):
        split = predefined(data, domain)
        negs = split.test_negatives
        assert negs.shape == (len(split.test), 99) and (negs >= 0).all()
        assert (negs < data.num_items(domain)).all()
        held = split.test["item"].to_numpy()[:, None]
        assert (negs == held).any(axis=1).sum() <= 22  # shipped as is: upstream lists a few positives
        fixed = data.meta["test_negatives"][domain]
        first = open(mirror / f"amazon_disencdr/bitgcf_fixed_negatives/{raw_dir}/test_neg.txt").readline()
        user, item = (int(x) for x in first.split("\t")[0].strip("()").split(","))
        row = fixed[data.user_ids[fixed["user"].to_numpy()] == user]
        if len(row):  # the user's held-out item survived DisenCDR's test.txt filter
            raw_negs = data.item_ids[domain][row["negatives"].iloc[0]].tolist()
            assert raw_negs == [int(x) for x in first.split("\t")[1:]]
