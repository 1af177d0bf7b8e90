"""The cross-domain interaction data model: :class:`CrossDomainData`."""
from __future__ import annotations

import logging
import os
from itertools import combinations
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

PARTS = ("train", "valid", "test")
_RESERVED_DOMAINS = {"user", "users", ""}


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
                :func:`cdgraph.split.leave_one_out` and to keep the latest duplicate.
            split (str, optional): Column of ``"train"``/``"valid"``/``"test"`` labels,
                a split shipped with the data (see :func:`cdgraph.split.predefined`).
            name (str, optional): A name for the dataset.

        Duplicate ``(user, item)`` rows of a domain are collapsed (the latest kept
        when there is a time column, else the first) and the count is logged.
        The caller's frames are never modified.

        Raises:
            TypeError: a frame is not a DataFrame, or ids mix types across rows or domains.
            ValueError: fewer than two domains, a missing column, an empty or NaN id,
                a NaN or infinite rating, a domain without interactions, or no user
                shared between the domains. The message names domain, column and row.
        """
        if not isinstance(frames, Mapping):
            raise TypeError(f"frames must be a dict of domain name -> DataFrame, got {type(frames).__name__}.")
        if len(frames) < 2:
            raise ValueError(f"Cross-domain data needs at least two domains, got {len(frames)}: "
                             f"{list(frames)}. Pass one DataFrame per domain.")
        columns = {"user": user, "item": item, "rating": rating, "time": time, "part": split}
        cleaned: dict[str, pd.DataFrame] = {}
        for domain, frame in frames.items():
            _check_domain_name(domain)
            cleaned[domain] = _clean_frame(domain, frame, columns)
        _check_same_id_kind(cleaned, "user", user)

        codes, user_ids = pd.factorize(pd.concat([f["user"] for f in cleaned.values()],
                                                 ignore_index=True))
        user_ids = pd.Index(user_ids, name=user)
        interactions, item_ids, start = {}, {}, 0
        for domain, frame in cleaned.items():
            n = len(frame)
            out = pd.DataFrame({"user": codes[start:start + n].astype(np.int64)})
            start += n
            item_codes, uniques = pd.factorize(frame["item"])
            out["item"] = item_codes.astype(np.int64)
            item_ids[domain] = pd.Index(uniques, name=item)
            for col in ("rating", "time", "part"):
                if col in frame:
                    out[col] = frame[col].to_numpy()
            interactions[domain] = _collapse_duplicates(domain, out)
        data = cls(interactions, user_ids, item_ids, name=name, meta=meta)
        data._check_shared_users()
        return data

    @classmethod
    def read(cls, paths: Mapping[str, str | os.PathLike], user: str | int = "user",
             item: str | int = "item", rating: str | int | None = None,
             time: str | int | None = None, sep: str | None = None, header: bool = True,
             name: str | None = None) -> "CrossDomainData":
        """Read one delimited file (CSV, TSV, ...) per domain.

        Args:
            paths (dict[str, path]): Domain name -> file.
            user, item, rating, time: Column names, or 0-based column positions
                when ``header=False``.
            sep (str, optional): Delimiter; sniffed from the file when ``None``
                (tab, comma, ``::``, ``;`` or whitespace).
            header (bool): Whether the first line holds column names.
        """
        if len(paths) < 2:
            raise ValueError(f"Cross-domain data needs at least two domains, got {len(paths)}.")
        frames = {}
        for domain, path in paths.items():
            frames[domain] = read_table(path, sep=sep, header=header, domain=domain,
                                        needed=[c for c in (user, item, rating, time) if c is not None])
        names = [None if c is None else str(c) for c in (user, item, rating, time)]
        return cls.from_frames(frames, user=names[0], item=names[1], rating=names[2], time=names[3],
                               name=name)

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
        return np.unique(self._inter[self.check_domain(domain)]["user"].to_numpy())

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
        raw_list = [raw] if np.ndim(raw) == 0 and not isinstance(raw, (list, tuple)) else list(raw)
        idx = self.user_ids.get_indexer(pd.Index(raw_list, dtype=self.user_ids.dtype
                                                 if _same_kind(raw_list, self.user_ids) else object))
        if missing == "raise" and (idx < 0).any():
            unknown = [raw_list[i] for i in np.flatnonzero(idx < 0)[:5]]
            raise ValueError(f"Unknown user id(s) {unknown} (of {int((idx < 0).sum())}); "
                             f"this data has {self.num_users} users, e.g. {list(self.user_ids[:3])}.")
        return idx.astype(np.int64)

    def item_index(self, domain: str, raw: Iterable[Any]) -> np.ndarray:
        """Map raw item ids of ``domain`` to item indices (ValueError for unknown ids)."""
        ids = self.item_ids[self.check_domain(domain)]
        raw_list = list(raw)
        idx = ids.get_indexer(pd.Index(raw_list, dtype=ids.dtype if _same_kind(raw_list, ids) else object))
        if (idx < 0).any():
            unknown = [raw_list[i] for i in np.flatnonzero(idx < 0)[:5]]
            raise ValueError(f"Unknown {domain} item id(s) {unknown}.")
        return idx.astype(np.int64)

    # --------------------------------------------------------------- helpers
    def _check_shared_users(self) -> None:
        user_sets = {d: self.users(d) for d in self.domains}
        for d in self.domains:
            others = np.unique(np.concatenate([user_sets[o] for o in self.domains if o != d]))
            if not np.intersect1d(user_sets[d], others, assume_unique=True).size:
                raise ValueError(
                    f"Domain {d!r} shares no user with the other domains {[o for o in self.domains if o != d]}: "
                    f"nothing can transfer. Check that the user column holds the same ids in every domain.")

    def __repr__(self) -> str:
        parts = ", ".join(f"{d}: {self.num_items(d)} items / {len(f)} interactions"
                          for d, f in self._inter.items())
        label = f"{self.name}, " if self.name else ""
        return f"CrossDomainData({label}{self.num_users} users; {parts})"


# ---------------------------------------------------------------- validation
def _check_domain_name(domain: Any) -> None:
    if not isinstance(domain, str):
        raise TypeError(f"Domain names must be strings, got {domain!r} ({type(domain).__name__}).")
    if domain.strip().lower() in _RESERVED_DOMAINS or domain != domain.strip():
        raise ValueError(f"Domain name {domain!r} is not allowed: use a non-empty name other than "
                         f"'user', without surrounding spaces.")


def _clean_frame(domain: str, frame: Any, columns: dict[str, str | None]) -> pd.DataFrame:
    """Validate one domain's frame and return a new frame with canonical column names."""
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"Domain {domain!r}: expected a pandas DataFrame, got {type(frame).__name__}.")
    for role, col in columns.items():
        if col is not None and col not in frame.columns:
            raise ValueError(f"Domain {domain!r}: missing {role} column {col!r}; "
                             f"the frame has columns {list(map(str, frame.columns))}.")
    if len(frame) == 0:
        raise ValueError(f"Domain {domain!r} has no interactions: give every domain at least one row.")
    out = pd.DataFrame(index=pd.RangeIndex(len(frame)))
    out["user"] = _clean_ids(domain, columns["user"], frame[columns["user"]])
    out["item"] = _clean_ids(domain, columns["item"], frame[columns["item"]])
    if columns["rating"] is not None:
        out["rating"] = _clean_numeric(domain, columns["rating"], frame[columns["rating"]])
    if columns["time"] is not None:
        out["time"] = _clean_time(domain, columns["time"], frame[columns["time"]])
    if columns["part"] is not None:
        part = frame[columns["part"]].astype(str).to_numpy()
        bad = ~np.isin(part, PARTS)
        if bad.any():
            row = int(np.argmax(bad))
            raise ValueError(f"Domain {domain!r}, column {columns['part']!r}, row {row}: {part[row]!r} "
                             f"is not one of {PARTS}.")
        out["part"] = part
    return out


def _first_bad(domain: str, column: str, mask: np.ndarray, values: pd.Series, what: str,
               exc: type = ValueError) -> None:
    if mask.any():
        pos = int(np.argmax(mask))
        raise exc(f"Domain {domain!r}, column {column!r}, row {pos} (label {values.index[pos]!r}): "
                  f"{what}, got {values.iloc[pos]!r}. Fix or drop such rows first.")


def _clean_ids(domain: str, column: str, values: pd.Series) -> pd.Series:
    values = values.reset_index(drop=True) if not isinstance(values.index, pd.RangeIndex) else values
    _first_bad(domain, column, values.isna().to_numpy(), values, "missing (NaN/None) id")
    if pd.api.types.is_bool_dtype(values):
        raise TypeError(f"Domain {domain!r}, column {column!r}: ids must be integers or strings, not booleans.")
    if pd.api.types.is_integer_dtype(values):
        return values.astype(np.int64)
    if pd.api.types.is_float_dtype(values):
        arr = values.to_numpy()
        _first_bad(domain, column, ~np.isfinite(arr) | (arr != np.round(arr)), values,
                   "ids must be integers or strings (a non-integral float id)", TypeError)
        _first_bad(domain, column, np.abs(arr) > 2 ** 53, values, "float id too large to be exact", TypeError)
        return values.astype(np.int64)
    kind = pd.api.types.infer_dtype(values, skipna=False)
    if kind in ("string", "unicode"):
        arr = values.astype(str)
        _first_bad(domain, column, (arr.str.strip() == "").to_numpy(), values, "empty id")
        return arr.astype(object)
    if kind == "integer":
        try:
            return values.astype(np.int64)
        except OverflowError:
            raise TypeError(f"Domain {domain!r}, column {column!r}: integer ids must fit in 64 bits; "
                            f"store them as strings instead.") from None
    types = values.map(type)
    first = types.iloc[0]
    _first_bad(domain, column, (types != first).to_numpy(), values,
               f"ids must all have one type (row 0 is {first.__name__})", TypeError)
    raise TypeError(f"Domain {domain!r}, column {column!r}: ids must be integers or strings, "
                    f"got {first.__name__} (row 0: {values.iloc[0]!r}).")


def _clean_numeric(domain: str, column: str, values: pd.Series) -> np.ndarray:
    try:
        arr = pd.to_numeric(values, errors="raise").to_numpy(dtype=np.float64)
    except (ValueError, TypeError):
        coerced = pd.to_numeric(values, errors="coerce")
        _first_bad(domain, column, (coerced.isna() & values.notna()).to_numpy(), values,
                   "a non-numeric rating")
        arr = coerced.to_numpy(dtype=np.float64)
    _first_bad(domain, column, ~np.isfinite(arr), values, "ratings must be finite numbers (NaN/inf)")
    return arr.astype(np.float32)


def _clean_time(domain: str, column: str, values: pd.Series) -> np.ndarray:
    if pd.api.types.is_datetime64_any_dtype(values):
        _first_bad(domain, column, values.isna().to_numpy(), values, "missing timestamp")
        return values.astype("int64").to_numpy()
    try:
        arr = pd.to_numeric(values, errors="raise").to_numpy(dtype=np.float64)
    except (ValueError, TypeError):
        raise TypeError(f"Domain {domain!r}, column {column!r}: timestamps must be numeric or "
                        f"datetime (first value {values.iloc[0]!r}); convert with pd.to_datetime.") from None
    _first_bad(domain, column, ~np.isfinite(arr), values, "timestamps must be finite (NaN/inf)")
    return arr


def _id_kind(series: pd.Series) -> str:
    return "integer" if pd.api.types.is_integer_dtype(series) else "string"


def _check_same_id_kind(frames: dict[str, pd.DataFrame], col: str, label: str) -> None:
    kinds = {d: _id_kind(f[col]) for d, f in frames.items()}
    if len(set(kinds.values())) > 1:
        raise TypeError(f"The {label!r} column holds {kinds} ids: the same user must have the same "
                        f"id in every domain, so convert all of them to one type (e.g. .astype(str)).")


def _same_kind(raw: list, index: pd.Index) -> bool:
    if not raw:
        return True
    ints = pd.api.types.is_integer_dtype(index.dtype)
    return all(isinstance(r, (int, np.integer)) and not isinstance(r, bool) for r in raw) if ints \
        else all(isinstance(r, str) for r in raw)


def _collapse_duplicates(domain: str, frame: pd.DataFrame) -> pd.DataFrame:
    if "time" in frame:
        order = np.lexsort((np.arange(len(frame)), frame["time"].to_numpy()))
        frame = frame.iloc[order]
        keep = "last"
    else:
        keep = "first"
    dup = frame.duplicated(["user", "item"], keep=keep)
    n = int(dup.sum())
    if n:
        log.info("Domain %r: collapsed %d duplicate (user, item) rows.", domain, n)
        frame = frame[~dup.to_numpy()]
    if "time" in frame:
        frame = frame.sort_index(kind="stable")
    return frame.reset_index(drop=True)


def read_table(path: str | os.PathLike, sep: str | None = None, header: bool = True,
               domain: str | None = None, needed: list | None = None) -> pd.DataFrame:
    """Read a delimited interactions file, sniffing the delimiter when ``sep`` is None.

    Raises ValueError naming the file when it is missing, empty or lacks a column.
    """
    label = f"Domain {domain!r}: file" if domain else "File"
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ValueError(f"{label} {path!r} does not exist.")
    if sep is None:
        with open(path, encoding="utf-8", errors="replace") as fh:
            first = fh.readline()
        sep = next((s for s in ("\t", "::", ",", ";") if s in first), r"\s+")
    try:
        frame = pd.read_csv(path, sep=sep, header=0 if header else None,
                            engine="python" if len(sep) > 1 else "c")
    except pd.errors.EmptyDataError:
        raise ValueError(f"{label} {path!r} is empty.") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise ValueError(f"{label} {path!r} could not be parsed: {exc}") from None
    frame.columns = [str(c) for c in frame.columns]
    for col in needed or []:
        if str(col) not in frame.columns:
            raise ValueError(f"{label} {path!r} has no column {col!r}; it has {list(frame.columns)}"
                             + ("" if header else " (header=False: columns are numbered from 0)") + ".")
    return frame


def pair_shared_counts(data: CrossDomainData) -> pd.DataFrame:
    """Users shared by each pair of domains, one row per pair."""
    rows = [{"a": a, "b": b, "shared_users": len(data.shared_users(a, b))}
            for a, b in combinations(data.domains, 2)]
    return pd.DataFrame(rows)
