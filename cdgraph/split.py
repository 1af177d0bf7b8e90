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

from .data import CrossDomainData

__all__ = ["Split", "leave_one_out", "ratio", "cold_start", "predefined"]


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
        """Assert the split's invariants: no held-out pair in train, valid and test disjoint."""
        self.data.check_domain(self.target)
        n_items = self.data.num_items(self.target)
        key = lambda f: f["user"].to_numpy(np.int64) * n_items + f["item"].to_numpy(np.int64)  # noqa: E731
        train, valid, test = key(self.train[self.target]), key(self.valid), key(self.test)
        for name, held in (("valid", valid), ("test", test)):
            if np.isin(held, train).any():
                raise ValueError(f"Split of {self.target!r}: a {name} interaction also appears in train.")
        if np.isin(valid, test).any():
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
    return {d: data.interactions(d).drop(columns="part", errors="ignore")
            for d in data.domains if d != target}


def _make(data: CrossDomainData, target: str, frame: pd.DataFrame, label: np.ndarray,
          kind: str, cold: np.ndarray | None = None, **info: Any) -> Split:
    frame = frame.drop(columns="part", errors="ignore")
    train = _others_train(data, target)
    train[target] = frame[label == 0].reset_index(drop=True)
    train = {d: train[d] for d in data.domains}
    return Split(data, target, train, frame[label == 1].reset_index(drop=True),
                 frame[label == 2].reset_index(drop=True),
                 cold_users=np.empty(0, np.int64) if cold is None else cold, kind=kind, info=info)


def _order_within_users(frame: pd.DataFrame, rng: np.random.Generator, by_time: bool):
    """Rank of each row within its user, 0 = last (latest), and the user's row count."""
    tiebreak = rng.random(len(frame))
    keys = (tiebreak, frame["time"].to_numpy(), frame["user"].to_numpy()) if by_time \
        else (tiebreak, frame["user"].to_numpy())
    order = np.lexsort(keys)
    users = frame["user"].to_numpy()[order]
    sizes = np.bincount(users)[users]
    starts = np.r_[0, np.flatnonzero(np.diff(users)) + 1]
    pos = np.arange(len(users)) - np.repeat(starts, np.diff(np.r_[starts, len(users)]))
    from_end = np.empty(len(frame), np.int64)
    count = np.empty(len(frame), np.int64)
    from_end[order] = sizes - 1 - pos
    count[order] = sizes
    return from_end, count


def leave_one_out(data: CrossDomainData, target: str, seed: int = 0, valid: bool = True) -> Split:
    """Hold out each target user's last interaction for test and the one before for valid.

    "Last" is by the time column when the data has one (ties broken at random),
    else a seeded random pick. A user needs at least 3 target interactions (2 with
    ``valid=False``) to be held out; users with fewer stay wholly in train.
    """
    data.check_domain(target)
    frame = data.interactions(target)
    rng = np.random.default_rng(seed)
    from_end, count = _order_within_users(frame, rng, data.has_time)
    need = 3 if valid else 2
    label = np.zeros(len(frame), np.int8)
    eligible = count >= need
    label[eligible & (from_end == 0)] = 2
    if valid:
        label[eligible & (from_end == 1)] = 1
    return _make(data, target, frame, label, "leave_one_out", seed=seed)


def ratio(data: CrossDomainData, target: str, train: float = 0.8, valid: float = 0.1,
          seed: int = 0) -> Split:
    """Split each target user's interactions at random into train / valid / test shares.

    Each user keeps ``max(1, floor(n * train))`` interactions in train and
    ``floor(n * valid)`` in valid; the rest go to test.
    """
    if not (0 < train <= 1 and 0 <= valid < 1 and train + valid <= 1 + 1e-9):
        raise ValueError(f"ratio split needs 0 < train <= 1, 0 <= valid and train + valid <= 1; "
                         f"got train={train}, valid={valid}.")
    data.check_domain(target)
    frame = data.interactions(target)
    from_end, count = _order_within_users(frame, np.random.default_rng(seed), by_time=False)
    n_train = np.maximum(1, np.floor(count * train + 1e-9)).astype(np.int64)
    n_valid = np.floor(count * valid + 1e-9).astype(np.int64)
    n_valid = np.minimum(n_valid, count - n_train)
    pos = count - 1 - from_end
    label = np.where(pos < n_train, 0, np.where(pos < n_train + n_valid, 1, 2)).astype(np.int8)
    return _make(data, target, frame, label, "ratio", seed=seed, train=train, valid=valid)


def cold_start(data: CrossDomainData, target: str, fraction: float = 0.2, seed: int = 0) -> Split:
    """Make a ``fraction`` of the shared users cold in the target domain.

    The chosen users (shared: active in the target and in another domain) have
    *all* their target interactions held out, each at random to valid or test
    (as in CDRIB, Cao et al., ICDE 2022); their other domains stay in train.
    """
    if not 0 < fraction < 1:
        raise ValueError(f"fraction must be in (0, 1), got {fraction}.")
    data.check_domain(target)
    frame = data.interactions(target)
    others = np.unique(np.concatenate([data.users(d) for d in data.domains if d != target]))
    shared = np.intersect1d(data.users(target), others, assume_unique=True)
    rng = np.random.default_rng(seed)
    n_cold = int(round(fraction * len(shared)))
    if n_cold == 0:
        raise ValueError(f"cold_start on {target!r}: {len(shared)} shared users and fraction "
                         f"{fraction} make no cold user; raise the fraction.")
    cold = np.sort(rng.choice(shared, size=n_cold, replace=False))
    is_cold = np.isin(frame["user"].to_numpy(), cold)
    label = np.zeros(len(frame), np.int8)
    label[is_cold] = np.where(rng.random(int(is_cold.sum())) < 0.5, 1, 2)
    return _make(data, target, frame, label, "cold_start", cold=cold, seed=seed, fraction=fraction)


def predefined(data: CrossDomainData, target: str, valid_from_train: bool = True,
               seed: int = 0) -> Split:
    """The split the dataset ships with, for ``target``.

    Train holds every domain's ``train`` rows; valid and test are the target's
    shipped ``valid``/``test`` rows. Held-out rows of the other domains are
    left out, as in the papers that ship these splits. When the target ships no
    validation rows and ``valid_from_train`` is True, one random train interaction
    per user with at least 3 of them is moved to valid (seeded), so that early
    stopping never looks at test.
    """
    data.check_domain(target)
    if not data.has_split:
        raise ValueError(f"Dataset {data.name or '(unnamed)'} ships no split. Use "
                         f"cdgraph.split.leave_one_out, ratio or cold_start instead.")
    frame = data.interactions(target)
    part = frame["part"].to_numpy()
    label = np.select([part == "train", part == "valid", part == "test"], [0, 1, 2]).astype(np.int8)
    if valid_from_train and not (label == 1).any():
        train_rows = np.flatnonzero(label == 0)
        from_end, count = _order_within_users(frame.iloc[train_rows], np.random.default_rng(seed), False)
        label[train_rows[(count >= 3) & (from_end == 0)]] = 1
    train = {d: data.interactions(d) for d in data.domains}
    train = {d: f[f["part"].to_numpy() == "train"].drop(columns="part").reset_index(drop=True)
             for d, f in train.items()}
    frame = frame.drop(columns="part")
    train[target] = frame[label == 0].reset_index(drop=True)
    test = frame[label == 2].reset_index(drop=True)
    cold = data.meta.get("cold_users", {}).get(target)
    negatives = None
    fixed = data.meta.get("test_negatives", {}).get(target)
    if fixed is not None:
        negatives = _align_negatives(test, fixed)
    return Split(data, target, train, frame[label == 1].reset_index(drop=True), test,
                 cold_users=np.empty(0, np.int64) if cold is None else np.asarray(cold, np.int64),
                 kind="predefined", test_negatives=negatives, info={"seed": seed})


def _align_negatives(test: pd.DataFrame, fixed: pd.DataFrame) -> np.ndarray:
    """Rows of fixed negatives (columns user, item, negatives) matched to test rows by (user, item)."""
    lookup = {(u, i): n for u, i, n in zip(fixed["user"], fixed["item"], fixed["negatives"])}
    width = max(len(n) for n in fixed["negatives"])
    out = np.full((len(test), width), -1, dtype=np.int64)
    for row, (u, i) in enumerate(zip(test["user"].to_numpy(), test["item"].to_numpy())):
        negs = lookup.get((u, i))
        if negs is not None:
            out[row, :len(negs)] = negs
    return out
