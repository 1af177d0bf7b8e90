"""The cross-domain interaction data model: :class:`CrossDomainData`."""
from __future__ import annotations

import os
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from cdgraph.data.checks import (PARTS, check_distinct_columns, check_domain_name, check_same_id_kind,
                                 clean_frame, collapse_duplicates)
from cdgraph.data.features import ItemFeatures, feature_tables, item_features_of, read_feature_table
from cdgraph.data.files import read_table, text_ids
from cdgraph.data.ids import as_list, lookup_ids

__all__ = ["CrossDomainData", "PARTS", "as_list"]


class CrossDomainData:
    """Interactions of two or more named domains over one shared user index.

    Users are indexed once across all domains (the same raw user id in two
    domains is the same person, a *shared* user); items are indexed per domain.
    Raw ids are kept in both directions, so that every public output can speak
    raw ids while models work in contiguous ``0..n-1`` index spaces.

    Build one with :meth:`from_frames` or :meth:`read`, or load a public pair
    with :func:`cdgraph.datasets.load`.

    Items may carry side information (text such as titles, numeric vectors such as
    embeddings), one table per domain keyed by raw item id (see
    :mod:`cdgraph.data.features`): give it with ``item_features=`` or
    :meth:`set_item_features`, read it aligned to the item index with
    :meth:`item_features`, :meth:`item_text` and :meth:`item_vectors`. Splits keep the
    data object (``split.data``), so they keep its item features too.

    Attributes:
        domains (list[str]): Domain names, in the order given.
        user_ids (pandas.Index): Raw user id of each user index.
        item_ids (dict[str, pandas.Index]): Raw item id of each item index, per domain.
        name (str | None): Dataset name, when it came from a loader.
        meta (dict): Loader-provided extras (evaluation protocol, fixed negatives).
    """

    def __init__(self, interactions: Mapping[str, pd.DataFrame], user_ids: pd.Index,
                 item_ids: Mapping[str, pd.Index], name: str | None = None,
                 meta: dict[str, Any] | None = None,
                 features: Mapping[str, ItemFeatures] | None = None) -> None:
        self._inter = dict(interactions)
        self.user_ids = user_ids
        self.item_ids = dict(item_ids)
        self.name = name
        self.meta = dict(meta or {})
        self._user_lookup: pd.Index | None = None
        self._features: dict[str, ItemFeatures] = dict(features or {})

    # ------------------------------------------------------------------ build
    @classmethod
    def from_frames(cls, frames: Mapping[str, pd.DataFrame], user: str = "user",
                    item: str = "item", rating: str | None = None, time: str | None = None,
                    split: str | None = None, name: str | None = None,
                    meta: dict[str, Any] | None = None,
                    item_features: Mapping[str, pd.DataFrame] | None = None,
                    feature_item: str | None = None) -> "CrossDomainData":
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
            item_features (dict[str, DataFrame], optional): Domain -> item side information,
                one row per item: the raw item id in column ``feature_item`` and text,
                numeric or array-of-numbers columns (see :meth:`set_item_features`).
                Domains may be left out; items without a row have no features.
            feature_item (str, optional): The item id column of the ``item_features``
                frames; defaults to ``item``.

        Ids must be integers or strings, one type per column (and the same type for
        the user column of every domain). Duplicate ``(user, item)`` rows of a domain are collapsed (the latest kept
        when there is a time column, else the first) and the count is logged.
        The caller's frames are never modified.

        Raises:
            TypeError: a frame is not a DataFrame, or ids mix types across rows or domains.
            ValueError: fewer than two domains, one column named for two roles, a missing
                column, an empty or NaN id, a NaN or infinite rating, a domain without
                interactions, no user shared between the domains, an unknown domain in
                ``item_features`` or any error of :meth:`set_item_features`. The message
                names domain, column and row.
        """
        if not isinstance(frames, Mapping):
            raise TypeError(f"frames must be a dict of domain name -> DataFrame, got {type(frames).__name__}.")
        if len(frames) < 2:
            raise ValueError(f"Cross-domain data needs at least two domains, got {len(frames)}: "
                             f"{list(frames)}. Pass one DataFrame per domain.")
        features = feature_tables(item_features, frames)
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
        for domain, table in features.items():
            data.set_item_features(domain, table, item=item if feature_item is None else feature_item)
        return data

    @classmethod
    def read(cls, paths: Mapping[str, str | os.PathLike], user: str | int = "user",
             item: str | int = "item", rating: str | int | None = None,
             time: str | int | None = None, sep: str | None = None, header: bool = True,
             name: str | None = None, split: str | int | None = None,
             item_features: Mapping[str, str | os.PathLike | pd.DataFrame] | None = None,
             feature_item: str | None = None) -> "CrossDomainData":
        """Read one delimited file (CSV, TSV, ...) per domain.

        Args:
            paths (dict[str, path]): Domain name -> file.
            user, item, rating, time, split: Column names, or 0-based column positions
                when ``header=False`` (see :meth:`from_frames` for their roles).
            sep (str, optional): Delimiter; sniffed from the file when ``None``
                (tab, comma, ``::``, ``;`` or whitespace).
            header (bool): Whether the first line holds column names.
            name (str, optional): A name for the dataset.
            item_features (dict, optional): Domain -> item feature table: a DataFrame or a
                delimited file with a header line (``sep`` as for the interactions), holding
                the item id column ``feature_item`` (default: ``item``) and feature columns.
            feature_item (str, optional): The item id column of the feature tables.

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
        features = feature_tables(item_features, paths)
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
        key = item if feature_item is None else feature_item
        features = {d: read_feature_table(d, table, key, sep, frames[d][item])
                    for d, table in features.items()}
        return cls.from_frames(frames, user=user, item=item,
                               rating=None if rating is None else str(rating),
                               time=None if time is None else str(time),
                               split=None if split is None else str(split), name=name,
                               item_features=features, feature_item=key)

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
        """One row per domain: users, items, interactions, density, users shared with each
        domain (columns ``shared_<domain>``; the diagonal is the domain's users) and
        ``item_features``, the share of the domain's items that have item features."""
        rows = []
        user_sets = {d: self.users(d) for d in self.domains}
        for d in self.domains:
            n_users, n_items, n_inter = len(user_sets[d]), self.num_items(d), len(self._inter[d])
            row = {"domain": d, "users": n_users, "items": n_items, "interactions": n_inter,
                   "density": n_inter / max(1, n_users * n_items)}
            for other in self.domains:
                row[f"shared_{other}"] = len(np.intersect1d(user_sets[d], user_sets[other],
                                                            assume_unique=True))
            row["item_features"] = self._features[d].coverage if d in self._features else 0.0
            rows.append(row)
        return pd.DataFrame(rows).set_index("domain")

    # ---------------------------------------------------------- item features
    def set_item_features(self, domain: str, frame: pd.DataFrame, item: str | None = None) -> None:
        """Set (or replace) ``domain``'s item side information.

        Args:
            domain (str): A domain of this data.
            frame (DataFrame): One row per item: the raw item id in column ``item`` (or in the
                index, named so), and feature columns: text (strings; None where an item lacks
                that text), numbers (one per item), or arrays of numbers of one width (None
                where an item has no vector). Items without a row have no features.
            item (str, optional): The item id column; defaults to the name of
                ``item_ids[domain]`` (the ``item`` column given to :meth:`from_frames`).

        The table is checked whole before it replaces the old one: on an error the data is
        unchanged. The caller's frame is never modified.

        Raises:
            TypeError / ValueError: an unknown domain, or a bad table (an item that is not among
                the domain's items, an item on two rows, a missing, NaN or infinite number,
                vectors of unequal widths, ...); the message names the domain, the column and
                the row, and says what to do.
        """
        self.check_domain(domain)
        key = (self.item_ids[domain].name or "item") if item is None else item
        self._features[domain] = item_features_of(domain, frame, self.item_ids[domain], key)

    def item_features(self, domain: str) -> pd.DataFrame:
        """``domain``'s item features as a new DataFrame indexed like ``item_ids[domain]`` (row
        ``i`` is item index ``i``): NaN where an item has no row (or lacks a value); vector
        cells hold float32 arrays. No columns when the domain has no item features."""
        table = self._item_table(domain)
        if table is None:
            return pd.DataFrame(index=self.item_ids[domain].copy())
        return table.frame(self.item_ids[domain].copy())

    def item_feature_columns(self, domain: str) -> dict[str, str]:
        """``domain``'s feature columns and their kinds: ``"text"``, ``"number"`` or ``"vector"``."""
        table = self._item_table(domain)
        return {} if table is None else dict(table.kinds)

    def item_text(self, domain: str, columns: str | Sequence[str] | None = None,
                  sep: str = " ") -> list[str]:
        """One string per item index of ``domain``: its non-empty text fields of ``columns``
        (all text columns by default, in table order) joined by ``sep``; ``""`` for items
        without text, and for every item when the domain has no item features."""
        table = self._item_table(domain)
        if table is None:
            if columns is not None:
                raise ValueError(f"Domain {domain!r} has no item features; set them with "
                                 f"item_features= or set_item_features.")
            return [""] * self.num_items(domain)
        return table.text(columns, sep)

    def item_vectors(self, domain: str, columns: str | Sequence[str] | None = None
                     ) -> tuple[np.ndarray, np.ndarray]:
        """``domain``'s numeric item features as one float32 matrix ``[num_items, d]`` (the
        ``columns``, by default every number and vector column, side by side in table
        order) and a bool ``[num_items]`` mask of the items that have all of them; the
        other rows are zeros.

        Raises:
            ValueError: the domain has no numeric feature column (or ``columns`` names a
                text or unknown column).
        """
        table = self._item_table(domain)
        if table is None:
            raise ValueError(f"Domain {domain!r} has no item features; set them with item_features= "
                             f"or set_item_features.")
        return table.vectors(columns)

    def _item_table(self, domain: str) -> ItemFeatures | None:
        """``domain``'s features over its whole item index (which may have grown since)."""
        table = self._features.get(self.check_domain(domain))
        if table is None:
            return None
        if table.num_items != self.num_items(domain):
            table = self._features[domain] = table.padded(self.num_items(domain))
        return table

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
        idx = lookup_ids(self.user_ids, raw_list)
        if missing == "raise" and (idx < 0).any():
            unknown = [raw_list[i] for i in np.flatnonzero(idx < 0)[:5]]
            raise ValueError(f"Unknown user id(s) {unknown} (of {int((idx < 0).sum())}); "
                             f"this data has {self.num_users} users, e.g. {list(self.user_ids[:3])}.")
        return idx

    def item_index(self, domain: str, raw: Iterable[Any] | Any) -> np.ndarray:
        """Map raw item ids of ``domain`` to item indices (ValueError for unknown ids)."""
        ids = self.item_ids[self.check_domain(domain)]
        raw_list = as_list(raw)
        idx = lookup_ids(ids, raw_list)
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
