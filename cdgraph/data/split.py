"""Train / valid / test splits of a :class:`~cdgraph.CrossDomainData` for one target domain.

Every split is seeded and reproducible. Only the target domain is split: the other
domains go whole into train (they are the side information that transfers), except
for :func:`predefined`, which follows the file layout the dataset ships.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from cdgraph.data.interactions import CrossDomainData
from cdgraph.registry import Registry

__all__ = ["SPLITS", "Split", "leave_one_out", "ratio", "cold_start", "predefined"]


@dataclass
class Split:
    """A split of the target domain's interactions; all frames are in index space.

    Attributes:
        data (CrossDomainData): The data split.
        target (str): The target domain.
        train (dict[str, DataFrame]): Training interactions of every domain.
        valid (DataFrame): Held-out target interactions for model selection.
        test (DataFrame): Held-out target interactions for the final report.
        cold_users (numpy.ndarray): Users whose target interactions are all held out.
        kind (str): Which split function made it.
        test_negatives (numpy.ndarray, optional): Fixed negatives shipped with the
            dataset, one row per test row (``-1`` pads), for the sampled protocol.
    """

    data: CrossDomainData
    target: str
    train: dict[str, pd.DataFrame]
    valid: pd.DataFrame
    test: pd.DataFrame
    cold_users: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    kind: str = "custom"
    test_negatives: np.ndarray | None = None
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.check()

    @property
    def domains(self) -> list[str]:
        return self.data.domains

    @property
    def sources(self) -> list[str]:
        """The domains other than the target."""
        return [d for d in self.data.domains if d != self.target]

    def part(self, name: str) -> pd.DataFrame:
        """``"valid"`` or ``"test"`` (target held-out), or ``"train"`` (target train)."""
        if name == "train":
            return self.train[self.target]
        if name in ("valid", "test"):
            return getattr(self, name)
        raise ValueError(f"Unknown split part {name!r}; use 'train', 'valid' or 'test'.")

    def raw(self, name: str) -> pd.DataFrame:
        """A part of the target domain with raw user and item ids."""
        frame = self.part(name).copy()
        frame["user"] = self.data.user_ids[frame["user"].to_numpy()]
        frame["item"] = self.data.item_ids[self.target][frame["item"].to_numpy()]
        return frame

    def check(self) -> None:
        """Raise ValueError unless no held-out pair is in train and valid and test are disjoint."""
        self.data.check_domain(self.target)
        n_items = np.int64(max(1, self.data.num_items(self.target)))
        key = lambda f: f["user"].to_numpy(np.int64) * n_items + f["item"].to_numpy(np.int64)  # noqa: E731
        train = pd.Series(key(self.train[self.target]))
        valid, test = key(self.valid), key(self.test)
        for name, held in (("valid", valid), ("test", test)):
            clash = train.isin(held).to_numpy()
            if clash.any():
                row = self.train[self.target].iloc[int(np.argmax(clash))]
                raise ValueError(f"Split of {self.target!r}: the {name} interaction (user {row['user']}, "
                                 f"item {row['item']}) also appears in train.")
        if len(valid) and len(test) and pd.Series(valid).isin(test).any():
            raise ValueError(f"Split of {self.target!r}: valid and test share an interaction.")

    def summary(self) -> pd.DataFrame:
        """Rows per part: interactions and users."""
        rows = [{"part": f"train[{d}]", "interactions": len(f), "users": f["user"].nunique()}
                for d, f in self.train.items()]
        rows += [{"part": p, "interactions": len(f), "users": f["user"].nunique()}
                 for p, f in (("valid", self.valid), ("test", self.test))]
        return pd.DataFrame(rows).set_index("part")

    def __repr__(self) -> str:
        return (f"Split({self.kind}, target={self.target!r}, train={sum(map(len, self.train.values()))}, "
                f"valid={len(self.valid)}, test={len(self.test)}, cold_users={len(self.cold_users)})")


def _others_train(data: CrossDomainData, target: str) -> dict[str, pd.DataFrame]:
    return {d: data._inter[d].drop(columns="part", errors="ignore").copy()
            for d in data.domains if d != target}


def _check_parts(kind: str, target: str, label: np.ndarray, fixes: dict[str, str]) -> None:
    """ValueError when a part of the target is empty: train (label 0), test (2), or valid (1)
    when ``fixes`` has a "valid" entry (validation was asked for). ``fixes`` says, per
    part, why it came out empty and which parameter or data property to change."""
    for part, code in (("train", 0), ("test", 2), ("valid", 1)):
        if part in fixes and not (label == code).any():
            raise ValueError(f"{kind} split of {target!r}: the {part} part is empty; {fixes[part]}.")


def from_labels(data: CrossDomainData, target: str, label: np.ndarray, kind: str, fixes: dict[str, str],
                cold: np.ndarray | None = None, **info: Any) -> Split:
    """A split of ``target`` from one label per target row (0 train, 1 valid, 2 test), for the
    split functions of this module and :mod:`cdgraph.data.scarcity`; ValueError for an empty
    part (see :func:`_check_parts`)."""
    _check_parts(kind, target, label, fixes)
    frame = data._inter[target].drop(columns="part", errors="ignore")
    train = _others_train(data, target)
    train[target] = frame[label == 0].reset_index(drop=True)
    train = {d: train[d] for d in data.domains}
    return Split(data, target, train, frame[label == 1].reset_index(drop=True),
                 frame[label == 2].reset_index(drop=True),
                 cold_users=np.empty(0, np.int64) if cold is None else cold, kind=kind, info=info)


def order_within_users(users: np.ndarray, rng: np.random.Generator,
                       time: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Rank of each row within its user (0 = last: the latest by ``time``, or last in a
    seeded random order; time ties are broken at random) and the user's row count.

    Sorts once on a unique int64 key ``user * n + rank`` where ``rank`` is each row's
    position in a random (or time-then-random) global order: unique keys make the
    result independent of the sort algorithm, hence reproducible across machines.
    """
    n = len(users)
    if n == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    perm = rng.permutation(n)
    if time is not None:
        perm = perm[np.argsort(time[perm], kind="stable")]
    rank = np.empty(n, np.int64)
    rank[perm] = np.arange(n, dtype=np.int64)
    n_users = int(users.max()) + 1
    if n_users * n < 2 ** 62:
        order = np.argsort(users.astype(np.int64) * n + rank)
    else:  # too large for one key
        order = np.lexsort((rank, users))
    sorted_users = users[order]
    sizes = np.bincount(users, minlength=n_users)
    starts = np.cumsum(sizes) - sizes
    pos = np.arange(n, dtype=np.int64) - starts[sorted_users]
    from_end = np.empty(n, np.int64)
    from_end[order] = sizes[sorted_users] - 1 - pos
    return from_end, sizes[users]


def seeded_rng(seed: Any) -> np.random.Generator:
    """A generator for ``seed`` (a non-negative integer, or None for fresh entropy)."""
    if isinstance(seed, (np.random.Generator, np.random.BitGenerator, np.random.SeedSequence)):
        return np.random.default_rng(seed)
    if seed is not None and (isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer))):
        raise TypeError(f"seed must be a non-negative integer or None, got {seed!r} ({type(seed).__name__}).")
    if seed is not None and seed < 0:
        raise ValueError(f"seed must be a non-negative integer or None, got {seed}.")
    return np.random.default_rng(seed)


def as_fraction(name: str, value: Any) -> float:
    """``value`` as a float; TypeError unless it is a real number (booleans and strings are not)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number, got {value!r} ({type(value).__name__}).")
    return float(value)


def _target_users(data: CrossDomainData, target: str) -> np.ndarray:
    return data._inter[data.check_domain(target)]["user"].to_numpy()


def leave_one_out(data: CrossDomainData, target: str, seed: int = 0, valid: bool = True) -> Split:
    """Hold out each target user's last interaction for test and the one before for valid.

    "Last" is by the time column when the data has one (ties broken at random,
    seeded), else a seeded random pick. A user needs at least 3 target
    interactions (2 with ``valid=False``) to be held out; users with fewer stay
    wholly in train. The other domains go whole into train.

    Raises:
        ValueError: no target user has enough interactions to be held out.
    """
    users = _target_users(data, target)
    time = data._inter[target]["time"].to_numpy() if "time" in data._inter[target] else None
    from_end, count = order_within_users(users, seeded_rng(seed), time)
    eligible = count >= (3 if valid else 2)
    label = np.zeros(len(users), np.int8)
    label[eligible & (from_end == 0)] = 2
    if valid:
        label[eligible & (from_end == 1)] = 1
    need = (f"every user has fewer than 3 {target!r} interactions: leave_one_out needs at least 3 "
            f"per user to hold out one for validation and one for test (2 with valid=False)" if valid else
            f"every user has fewer than 2 {target!r} interactions: leave_one_out needs at least 2 "
            f"per user to hold out one for test and keep one in train")
    fixes = {"test": need, "valid": need} if valid else {"test": need}
    return from_labels(data, target, label, "leave_one_out", fixes, seed=seed, by_time=time is not None)


def ratio(data: CrossDomainData, target: str, train: float = 0.8, valid: float = 0.1,
          seed: int = 0) -> Split:
    """Split each target user's interactions at random into train / valid / test shares.

    A user with ``n`` target interactions keeps ``max(1, floor(n * train))`` of them
    in train and ``min(floor(n * valid), n - n_train)`` in valid; the rest go to test.

    Raises:
        ValueError: bad shares, no test interaction, or (with ``valid > 0``) no
            validation interaction.
    """
    train, valid = as_fraction("train", train), as_fraction("valid", valid)
    if not (0 < train <= 1 and 0 <= valid < 1 and train + valid <= 1 + 1e-9):
        raise ValueError(f"ratio split needs 0 < train <= 1, 0 <= valid and train + valid <= 1; "
                         f"got train={train}, valid={valid}.")
    users = _target_users(data, target)
    from_end, count = order_within_users(users, seeded_rng(seed))
    n_train = np.maximum(1, np.floor(count * train + 1e-9)).astype(np.int64)
    n_valid = np.minimum(np.floor(count * valid + 1e-9).astype(np.int64), count - n_train)
    pos = count - 1 - from_end
    label = np.where(pos < n_train, 0, np.where(pos < n_train + n_valid, 1, 2)).astype(np.int8)
    fixes = {"test": f"train={train} and valid={valid} leave no user an interaction for test "
                     f"(users have at most {int(count.max())} {target!r} interactions); use smaller shares"}
    if valid > 0:
        fixes["valid"] = (f"valid={valid} gives no user a validation interaction (floor(n * valid) is 0 "
                          f"for users of n <= {int(count.max())} {target!r} interactions); use a "
                          f"larger valid, or valid=0 to split without validation")
    return from_labels(data, target, label, "ratio", fixes, seed=seed, train=train, valid=valid)


def cold_start(data: CrossDomainData, target: str, fraction: float = 0.2, seed: int = 0) -> Split:
    """Make a ``fraction`` of the shared users cold in the target domain.

    ``round(fraction * n_shared)`` users are drawn (seeded) among the *shared* users
    (active in the target and in at least one other domain). All their target
    interactions are held out; the cold users are split in two halves, one whose
    interactions form valid and one whose interactions form test, as in CDRIB
    (Cao et al., "Cross-Domain Recommendation to Cold-Start Users via Variational
    Information Bottleneck", ICDE 2022). Their other domains stay in train.

    Raises:
        ValueError: ``fraction`` makes fewer than 2 cold users (one for valid, one for
            test), or makes every target user cold (no target training interaction).
    """
    fraction = as_fraction("fraction", fraction)
    if not 0 < fraction < 1:
        raise ValueError(f"fraction must be in (0, 1), got {fraction}.")
    users = _target_users(data, target)
    in_others = np.zeros(data.num_users, dtype=bool)
    for d in data.domains:
        if d != target:
            in_others[data._inter[d]["user"].to_numpy()] = True
    shared = data.users(target)
    shared = shared[in_others[shared]]
    n_cold = int(round(fraction * len(shared)))
    if n_cold == 0:
        raise ValueError(f"cold_start on {target!r}: {len(shared)} shared users and fraction "
                         f"{fraction} make no cold user; raise the fraction.")
    cold = seeded_rng(seed).permutation(shared)[:n_cold]
    valid_users, test_users = np.sort(cold[:n_cold // 2]), np.sort(cold[n_cold // 2:])
    label = np.zeros(len(users), np.int8)
    label[np.isin(users, valid_users)] = 1
    label[np.isin(users, test_users)] = 2
    fixes = {"train": f"fraction={fraction} makes every {target!r} user cold and leaves no target "
                      f"training interaction; use a smaller fraction",
             "valid": f"fraction={fraction} of {len(shared)} shared users makes {n_cold} cold user, and "
                      f"cold_start needs at least 2 (half for validation, half for test); raise the "
                      f"fraction"}
    return from_labels(data, target, label, "cold_start", fixes, cold=np.sort(cold), seed=seed,
                       fraction=fraction)


def predefined(data: CrossDomainData, target: str, valid_from_train: bool = True,
               seed: int = 0) -> Split:
    """The split the dataset ships with, for ``target``.

    Train holds every domain's ``train`` rows; valid and test are the target's
    shipped ``valid``/``test`` rows. Held-out rows of the other domains are
    left out, as in the papers that ship these splits: training is then the same
    whichever domain is the target, and never sees a held-out row. When the target ships no
    validation rows and ``valid_from_train`` is True, each user with at least 2
    target train interactions gives one of them to valid (the latest by time when
    the data has a time column, else a seeded random one), so that early stopping
    never looks at test.

    Raises:
        ValueError: no split column, no target ``train`` or ``test`` rows, or no
            validation rows (shipped or carved) while ``valid_from_train`` is True.
    """
    data.check_domain(target)
    rng = seeded_rng(seed)
    if not data.has_split:
        raise ValueError(f"predefined split of {target!r}: dataset {data.name or '(unnamed)'} has no "
                         f"split column. Build it with CrossDomainData.from_frames(..., split=<column "
                         f"of 'train'/'valid'/'test' labels>), or use cdgraph.data.split.leave_one_out, "
                         f"ratio or cold_start instead.")
    frame = data._inter[target]
    part = frame["part"].to_numpy()
    label = np.select([part == "train", part == "valid", part == "test"], [0, 1, 2]).astype(np.int8)
    carved = False
    if valid_from_train and not (label == 1).any():
        rows = np.flatnonzero(label == 0)
        time = frame["time"].to_numpy()[rows] if "time" in frame else None
        from_end, count = order_within_users(frame["user"].to_numpy()[rows], rng, time)
        label[rows[(count >= 2) & (from_end == 0)]] = 1
        carved = True
    labels = f"the {target!r} rows of the split column hold no {{!r}} label"
    fixes = {"train": labels.format("train") + "; label the training rows 'train'",
             "test": labels.format("test") + "; label the test rows 'test', or use leave_one_out, "
                                             "ratio or cold_start instead"}
    if valid_from_train:
        fixes["valid"] = (f"no 'valid' rows are shipped and no user has 2 or more {target!r} 'train' "
                          f"rows to give one to validation; pass valid_from_train=False to train "
                          f"without validation")
    _check_parts("predefined", target, label, fixes)
    train = {d: f[f["part"].to_numpy() == "train"].drop(columns="part").reset_index(drop=True)
             for d, f in data._inter.items() if d != target}
    frame = frame.drop(columns="part")
    train[target] = frame[label == 0].reset_index(drop=True)
    train = {d: train[d] for d in data.domains}
    test = frame[label == 2].reset_index(drop=True)
    cold = data.meta.get("cold_users", {}).get(target)
    fixed = data.meta.get("test_negatives", {}).get(target)
    negatives = None if fixed is None else _align_negatives(test, fixed)
    return Split(data, target, train, frame[label == 1].reset_index(drop=True), test,
                 cold_users=np.empty(0, np.int64) if cold is None else np.asarray(cold, np.int64),
                 kind="predefined", test_negatives=negatives,
                 info={"seed": seed, "valid_from_train": carved})


def _align_negatives(test: pd.DataFrame, fixed: pd.DataFrame) -> np.ndarray:
    """Fixed negatives (columns user, item, negatives) matched to test rows by (user, item);
    one row per test row, ``-1`` pads (and fills rows without negatives)."""
    lengths = fixed["negatives"].map(len).to_numpy()
    width = int(lengths.max()) if len(lengths) else 0
    table = np.full((len(fixed), width), -1, dtype=np.int64)
    if width:
        table[np.arange(width) < lengths[:, None]] = np.concatenate(
            [np.asarray(n, dtype=np.int64) for n in fixed["negatives"]])
    index = pd.MultiIndex.from_arrays([fixed["user"].to_numpy(np.int64), fixed["item"].to_numpy(np.int64)])
    if not index.is_unique:  # a repeated pair: its last row wins
        last = ~index.duplicated(keep="last")
        index, table = index[last], table[last]
    rows = index.get_indexer(pd.MultiIndex.from_arrays([test["user"].to_numpy(np.int64),
                                                        test["item"].to_numpy(np.int64)]))
    out = np.full((len(test), width), -1, dtype=np.int64)
    out[rows >= 0] = table[rows[rows >= 0]]
    return out


#: The split functions by name (``SPLITS.get("cold_start")(data, target, seed=0)``); the one place
#: split names are looked up. :mod:`cdgraph.data.scarcity` adds ``cold_items`` and ``thin_bridge``.
SPLITS: Registry = Registry("split")
for _split in (leave_one_out, ratio, cold_start, predefined):
    SPLITS.add(_split.__name__, _split)
