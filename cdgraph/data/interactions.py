"""The cross-domain interaction data model: :class:`CrossDomainData`."""
from __future__ import annotations

import os
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd

from cdgraph.data.checks import (INT64_MAX, PARTS, check_distinct_columns, check_domain_name, check_same_id_kind, clean_frame, collapse_duplicates)
from cdgraph.data.files import read_table, text_ids

__all__ = ["CrossDomainData", "PARTS", "as_list"]


class CrossDomainData:
    """Interactions of two or more named domains over one shared user index.

    Users are indexed once across all domains (the same raw user id in two
    domains is the same person, a *shared* user); items are indexed per domain.
    Raw ids are kept in both directions, so that every public output can speak
    raw ids while models work in contiguous ``0..n-1`` index spaces.

    Build one with :meth:`from_frames` or :meth:`read`, or load a public pair
    with :func:`cdgraph.datasets.load`.

    Attributes:
        domains (list[str]): Domain names, in the order given.
        user_ids (pandas.Index): Raw user id of each user index.
        item_ids (dict[str, pandas.Index]): Raw item id of each item index, per domain.
        name (str | None): Dataset name, when it came from a loader.
        meta (dict): Loader-provided extras (evaluation protocol, fixed negatives).
    """

    def __init__(self, interactions: Mapping[str, pd.DataFrame], user_ids: pd.Index,
                 item_ids: Mapping[str, pd.Index], name: str | None = None,
                 meta: dict[str, Any] | None = None) -> None:
        self._inter = dict(interactions)
        self.user_ids = user_ids
        self.item_ids = dict(item_ids)
        self.name = name
        self.meta = dict(meta or {})
        self._user_lookup: pd.Index | None = None

    # ------------------------------------------------------------------ build
    @classmethod
    def from_frames(cls, frames: Mapping[str, pd.DataFrame], user: str = "user",
                    item: str = "item", rating: str | None = None, time: str | None = None,
                    split: str | None = None, name: str | None = None,
                    meta: dict[str, Any] | None = None) -> "CrossDomainData":
        """Build from one pandas DataFrame of interactions per domain.

        Args:
            frames (dict[str, DataFrame]): Domain name -> interactions. At least two.
            user (str): Column holding raw user ids (shared across domains).
            item (str): Column holding raw item ids (per domain).
            rating (str, optional): Column of numeric ratings, kept as edge weights.
            time (str, optional): Column of timestamps (numeric or datetime); used by
                :func:`cdgraph.data.split.leave_one_out` and to keep the latest duplicate.
            split (str, optional): Column of ``"train"``/``"valid"``/``"test"`` labels,
                a split shipped with the data (see :func:`cdgraph.data.split.predefined`).
            name (str, optional): A name for the dataset.
            meta (dict, optional): Extras kept in :attr:`meta`.

        Ids must be integers or strings, one type per column (and the same type for
        the user column of every domain). Duplicate ``(user, item)`` rows of a domain are collapsed (the latest kept
        when there is a time column, else the first) and the count is logged.
        The caller's frames are never modified.

        Raises:
            TypeError: a frame is not a DataFrame, or ids mix types across rows or domains.
            ValueError: fewer than two domains, one column named for two roles, a missing
                column, an empty or NaN id, a NaN or infinite rating, a domain without
                interactions, or no user shared between the domains. The message names
                domain, column and row.
        """
        if not isinstance(frames, Mapping):
            raise TypeError(f"frames must be a dict of domain name -> DataFrame, got {type(frames).__name__}.")
        if len(frames) < 2:
            raise ValueError(f"Cross-domain data needs at least two domains, got {len(frames)}: "
                             f"{list(frames)}. Pass one DataFrame per domain.")
        columns = {"user": user, "item": item, "rating": rating, "time": time, "part": split}
        check_distinct_columns(columns)
        cleaned: dict[str, dict[str, np.ndarray]] = {}
        for domain, frame in frames.items():
            check_domain_name(domain)
            cleaned[domain] = clean_frame(domain, frame, columns)
        check_same_id_kind(cleaned, user)

        # One factorize over all domains gives the shared user index.
        codes, uniques = pd.factorize(np.concatenate([f["user"] for f in cleaned.values()]))
        user_ids = pd.Index(uniques, name=user)
        interactions, item_ids, start = {}, {}, 0
        for domain, cols in cleaned.items():
            n = len(cols["user"])
            item_codes, item_uniques = pd.factorize(cols["item"])
            out = {"user": codes[start:start + n].astype(np.int64, copy=False),
                   "item": item_codes.astype(np.int64, copy=False)}
            start += n
            item_ids[domain] = pd.Index(item_uniques, name=item)
            out.update((k, v) for k, v in cols.items() if k not in ("user", "item"))
            interactions[domain] = collapse_duplicates(domain, pd.DataFrame(out),
                                                       len(item_uniques))
        data = cls(interactions, user_ids, item_ids, name=name, meta=meta)
        data._check_shared_users()
        return data

    @classmethod
    def read(cls, paths: Mapping[str, str | os.PathLike], user: str | int = "user",
             item: str | int = "item", rating: str | int | None = None,
             time: str | int | None = None, sep: str | None = None, header: bool = True,
             name: str | None = None, split: str | int | None = None) -> "CrossDomainData":
        """Read one delimited file (CSV, TSV, ...) per domain.

        Args:
            paths (dict[str, path]): Domain name -> file.
            user, item, rating, time, split: Column names, or 0-based column positions
                when ``header=False`` (see :meth:`from_frames` for their roles).
            sep (str, optional): Delimiter; sniffed from the file when ``None``
                (tab, comma, ``::``, ``;`` or whitespace).
            header (bool): Whether the first line holds column names.
            name (str, optional): A name for the dataset.

        User and item ids are read as text, stripped of surrounding whitespace
        (``" 2"`` is id ``2``), and turned into integers only when every id of the
        column is a plain integer, so ids such as ``"0001"`` are kept as written. The
        user column is converted in all files or in none.

        Raises:
            ValueError: a file is missing, empty or unparsable, a line has more or
                fewer fields than the header (the message gives the file and line),
                ``header=False`` while the first line looks like column names, or
                any error of :meth:`from_frames`.
        """
        if not isinstance(paths, Mapping):
            raise TypeError(f"paths must be a dict of domain name -> file, got {type(paths).__name__}.")
        if len(paths) < 2:
            raise ValueError(f"Cross-domain data needs at least two domains, got {len(paths)}: "
                             f"{list(paths)}. Pass one file per domain.")
        needed = [c for c in (user, item, rating, time, split) if c is not None]
        frames = {domain: read_table(path, sep=sep, header=header, domain=domain, needed=needed,
                                     id_columns=[user, item])
                  for domain, path in paths.items()}
        user, item = str(user), str(item)
        # Ids are read as text and become integers only where every id of the column
        # (of every file, for the shared user column) is a plain integer: "007" stays "007".
        # Surrounding whitespace is dropped: " 2" is user 2.
        for f, ids in zip(frames.values(), text_ids([f[user] for f in frames.values()])):
            f[user] = ids
        for f in frames.values():
            f[item] = text_ids([f[item]])[0]
        return cls.from_frames(frames, user=user, item=item,
                               rating=None if rating is None else str(rating),
                               time=None if time is None else str(time),
                               split=None if split is None else str(split), name=name)

    # ------------------------------------------------------------- accessors
    @property
    def domains(self) -> list[str]:
        """Domain names, in the order given."""
        return list(self._inter)

    @property
    def num_users(self) -> int:
        """Number of distinct users over all domains."""
        return len(self.user_ids)

    def num_items(self, domain: str) -> int:
        """Number of distinct items of ``domain``."""
        return len(self.item_ids[self.check_domain(domain)])

    @property
    def has_rating(self) -> bool:
        return all("rating" in f for f in self._inter.values())

    @property
    def has_time(self) -> bool:
        return all("time" in f for f in self._inter.values())

    @property
    def has_split(self) -> bool:
        """Whether the data ships its own train/valid/test labels."""
        return all("part" in f for f in self._inter.values())

    def check_domain(self, domain: str) -> str:
        """Return ``domain`` if known, else raise a ValueError listing the domains."""
        if domain not in self._inter:
            raise ValueError(f"Unknown domain {domain!r}; this data has domains {self.domains}.")
        return domain

    def interactions(self, domain: str, raw: bool = False) -> pd.DataFrame:
        """A copy of ``domain``'s interactions (index space, or raw ids with ``raw=True``)."""
        frame = self._inter[self.check_domain(domain)].copy()
        if raw:
            frame["user"] = self.user_ids[frame["user"].to_numpy()]
            frame["item"] = self.item_ids[domain][frame["item"].to_numpy()]
        return frame

    def users(self, domain: str) -> np.ndarray:
        """Sorted user indices with at least one interaction in ``domain``."""
        users = self._inter[self.check_domain(domain)]["user"].to_numpy()
        return np.flatnonzero(np.bincount(users, minlength=self.num_users)).astype(np.int64)

    def shared_users(self, a: str, b: str) -> np.ndarray:
        """Sorted indices of users with interactions in both ``a`` and ``b``."""
        return np.intersect1d(self.users(a), self.users(b), assume_unique=True)

    def summary(self) -> pd.DataFrame:
        """One row per domain: users, items, interactions, density, and users shared
        with each domain (columns ``shared_<domain>``; the diagonal is the domain's users)."""
        rows = []
        user_sets = {d: self.users(d) for d in self.domains}
        for d in self.domains:
            n_users, n_items, n_inter = len(user_sets[d]), self.num_items(d), len(self._inter[d])
            row = {"domain": d, "users": n_users, "items": n_items, "interactions": n_inter,
                   "density": n_inter / max(1, n_users * n_items)}
            for other in self.domains:
                row[f"shared_{other}"] = len(np.intersect1d(user_sets[d], user_sets[other],
                                                            assume_unique=True))
            rows.append(row)
        return pd.DataFrame(rows).set_index("domain")

    # --------------------------------------------------------------- id maps
    def user_index(self, raw: Iterable[Any] | Any, missing: str = "raise") -> np.ndarray:
        """Map raw user ids to user indices.

        Args:
            missing (str): ``"raise"`` (ValueError naming the unknown ids) or
                ``"mark"`` (-1 for unknown ids).
        """
        if missing not in ("raise", "mark"):
            raise ValueError(f"missing must be 'raise' or 'mark', got {missing!r}.")
        raw_list = as_list(raw)
        idx = _lookup(self.user_ids, raw_list)
        if missing == "raise" and (idx < 0).any():
            unknown = [raw_list[i] for i in np.flatnonzero(idx < 0)[:5]]
            raise ValueError(f"Unknown user id(s) {unknown} (of {int((idx < 0).sum())}); "
                             f"this data has {self.num_users} users, e.g. {list(self.user_ids[:3])}.")
        return idx

    def item_index(self, domain: str, raw: Iterable[Any] | Any) -> np.ndarray:
        """Map raw item ids of ``domain`` to item indices (ValueError for unknown ids)."""
        ids = self.item_ids[self.check_domain(domain)]
        raw_list = as_list(raw)
        idx = _lookup(ids, raw_list)
        if (idx < 0).any():
            unknown = [raw_list[i] for i in np.flatnonzero(idx < 0)[:5]]
            raise ValueError(f"Unknown {domain!r} item id(s) {unknown} (of {int((idx < 0).sum())}); "
                             f"this domain has {len(ids)} items, e.g. {list(ids[:3])}.")
        return idx

    # --------------------------------------------------------------- helpers
    def _check_shared_users(self) -> None:
        """Raise ValueError naming the first domain that shares no user with the others."""
        counts = np.zeros(self.num_users, dtype=np.int64)
        present = {}
        for d, f in self._inter.items():
            present[d] = np.bincount(f["user"].to_numpy(), minlength=self.num_users) > 0
            counts += present[d]
        for d in self.domains:
            if not (present[d] & (counts > 1)).any():
                raise ValueError(
                    f"Domain {d!r} shares no user with the other domains {[o for o in self.domains if o != d]}: "
                    f"nothing can transfer. Check that the user column holds the same ids in every domain.")

    def __repr__(self) -> str:
        parts = ", ".join(f"{d}: {self.num_items(d)} items / {len(f)} interactions"
                          for d, f in self._inter.items())
        label = f"{self.name}, " if self.name else ""
        return f"CrossDomainData({label}{self.num_users} users; {parts})"


# ---------------------------------------------------------------- raw ids
def as_list(raw: Any) -> list:
    """One id or an iterable of ids (list, tuple, set, array, Series, generator) as a list;
    a string is one id."""
    if isinstance(raw, (str, bytes)):
        return [raw]
    if isinstance(raw, np.ndarray):
        if raw.ndim > 1:
            raise TypeError(f"Ids must be one id or a flat list of ids, got a {raw.ndim}-d array "
                            f"of shape {raw.shape}.")
        return [raw.item()] if raw.ndim == 0 else list(raw)
    if isinstance(raw, (pd.Series, pd.Index)):
        return list(raw)
    if isinstance(raw, Mapping):
        raise TypeError(f"Ids must be one id or a list of ids, got a {type(raw).__name__}.")
    try:
        return list(iter(raw))
    except TypeError:
        return [raw]


def _lookup(index: pd.Index, raw: list) -> np.ndarray:
    """Positions of ``raw`` ids in ``index``; -1 for unknown ids or ids of another kind.

    Integer ids match Python/NumPy integers and integral floats (as in :meth:`from_frames`),
    string ids match strings; booleans, other types and out-of-range numbers are unknown.
    """
    if not raw:
        return np.empty(0, dtype=np.int64)
    for r in raw:
        try:
            hash(r)
        except TypeError:
            raise TypeError(f"Ids must be scalars (integers or strings), got {r!r} "
                            f"({type(r).__name__}).") from None
    if pd.api.types.is_integer_dtype(index.dtype):
        ok = np.array([_as_int_id(r) is not None for r in raw], dtype=bool)
        query = np.array([_as_int_id(r) if k else 0 for r, k in zip(raw, ok)], dtype=np.int64)
    else:
        ok = np.array([isinstance(r, str) for r in raw], dtype=bool)
        query = np.array([r if k else "" for r, k in zip(raw, ok)], dtype=object)
    idx = index.get_indexer(pd.Index(query, dtype=index.dtype)).astype(np.int64)
    idx[~ok] = -1
    return idx


def _as_int_id(r: Any) -> int | None:
    """``r`` as a 64-bit integer id, or None when it cannot be one."""
    if isinstance(r, (bool, np.bool_)):
        return None
    if isinstance(r, (int, np.integer)):
        return int(r) if -INT64_MAX - 1 <= int(r) <= INT64_MAX else None
    if isinstance(r, (float, np.floating)) and np.isfinite(r) and float(r).is_integer() \
            and abs(r) <= 2 ** 53:
        return int(r)
    return None
