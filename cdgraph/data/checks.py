"""Checking and cleaning user interaction frames for :class:`cdgraph.data.interactions.CrossDomainData`.

Turns each domain's pandas DataFrame into clean columns under canonical names:
integer or string ids (one type per column, the same for the user column of
every domain), finite float32 ratings, int64 or float64 timestamps and
train/valid/test labels, with duplicate ``(user, item)`` rows collapsed once ids
are integer indices. Bad input is refused with a TypeError or ValueError that
names the domain, the column and the row (position and index label) and says
what to do. :meth:`cdgraph.data.interactions.CrossDomainData.from_frames` is the public entry
point; it builds on :func:`check_domain_name`, :func:`check_distinct_columns`,
:func:`clean_frame`, :func:`check_same_id_kind` and :func:`collapse_duplicates`.
:func:`clean_ids` and :class:`Where` also serve the item feature tables
(:mod:`cdgraph.data.features`).
"""
from __future__ import annotations

import logging
import math
import numbers
from typing import Any, Sequence

import numpy as np
import pandas as pd

# The collapsed-duplicates message keeps the logger name it had in cdgraph.data.interactions.
log = logging.getLogger("cdgraph.data.interactions")

PARTS = ("train", "valid", "test")
_RESERVED_DOMAINS = {"user", "users", ""}


def check_domain_name(domain: Any) -> None:
    """TypeError for a non-string domain name, ValueError for a reserved or padded one."""
    if not isinstance(domain, str):
        raise TypeError(f"Domain names must be strings, got {domain!r} ({type(domain).__name__}).")
    if domain.strip().lower() in _RESERVED_DOMAINS or domain != domain.strip():
        raise ValueError(f"Domain name {domain!r} is not allowed: use a non-empty name other than "
                         f"'user', without surrounding spaces.")


def check_distinct_columns(columns: dict[str, Any]) -> None:
    """ValueError when one column is named for two roles (unhashable labels are left to
    :func:`clean_frame`, which names them)."""
    seen: dict[Any, str] = {}
    for role, col in columns.items():
        if col is None:
            continue
        try:
            hash(col)
        except TypeError:
            continue
        role = "split" if role == "part" else role
        if col in seen:
            raise ValueError(f"{seen[col]}={col!r} and {role}={col!r} name the same column: "
                             f"give each role its own column.")
        seen[col] = role


def clean_frame(domain: str, frame: Any, columns: dict[str, str | None]) -> dict[str, np.ndarray]:
    """Validate one domain's frame; return its columns as new arrays under canonical names.

    Works on arrays, never on the caller's frame, and ignores its index (only
    positions matter; the error messages give the position and the index label).
    """
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"Domain {domain!r}: expected a pandas DataFrame, got {type(frame).__name__}.")
    for role, col in columns.items():
        if col is None:
            if role in ("user", "item"):
                raise ValueError(f"The {role} column must be named, got None.")
            continue
        try:
            hash(col)
        except TypeError:
            raise TypeError(f"The {role} column must be one column label, got {col!r}.") from None
        if col not in frame.columns:
            raise ValueError(f"Domain {domain!r}: missing {role} column {col!r}; "
                             f"the frame has columns {list(map(str, frame.columns))}.")
        if (frame.columns == col).sum() > 1:
            raise ValueError(f"Domain {domain!r}: the {role} column {col!r} appears "
                             f"{int((frame.columns == col).sum())} times; give columns unique names.")
    if len(frame) == 0:
        raise ValueError(f"Domain {domain!r} has no interactions: give every domain at least one row.")
    where = Where(domain, frame.index)
    out = {"user": clean_ids(where(columns["user"]), frame[columns["user"]]),
           "item": clean_ids(where(columns["item"]), frame[columns["item"]])}
    if columns["rating"] is not None:
        out["rating"] = _clean_numeric(where(columns["rating"]), frame[columns["rating"]])
    if columns["time"] is not None:
        out["time"] = _clean_time(where(columns["time"]), frame[columns["time"]])
    if columns["part"] is not None:
        part = frame[columns["part"]].astype(str).to_numpy(dtype=object)
        where(columns["part"]).check(~np.isin(part, PARTS), part, f"split labels must be one of {PARTS}")
        out["part"] = part
    return out


class Where:
    """Names a domain (and the ``table``, e.g. " item features"), a column and a row in
    error messages."""

    def __init__(self, domain: str, index: pd.Index, column: str | None = None, table: str = "") -> None:
        self.domain, self.index, self.column, self.table = domain, index, column, table

    def __call__(self, column: str) -> "Where":
        return Where(self.domain, self.index, column, self.table)

    def __str__(self) -> str:
        return f"Domain {self.domain!r}{self.table}, column {self.column!r}"

    def at(self, pos: int) -> str:
        """``"Domain 'd', column 'c', row 3 (index label 'x')"`` for row position ``pos``."""
        return f"{self}, row {pos} (index label {self.index[pos]!r})"

    def check(self, mask: np.ndarray, values: Any, what: str, exc: type = ValueError) -> None:
        """Raise ``exc`` naming the first row where ``mask`` is True."""
        if mask.any():
            pos = int(np.argmax(mask))
            value = values.iloc[pos] if isinstance(values, pd.Series) else values[pos]
            raise exc(f"{self.at(pos)}: {what}, got {value!r}. Fix or drop such rows first.")


INT64_MAX = np.iinfo(np.int64).max


def clean_ids(where: Where, values: pd.Series) -> np.ndarray:
    """Ids as an int64 array (integer ids) or an object array of str (string ids)."""
    where.check(values.isna().to_numpy(), values, "missing (NaN/None) id")
    if isinstance(values.dtype, pd.CategoricalDtype):  # the categories' values, row by row
        values = pd.Series(np.asarray(values, dtype=object), index=values.index)
    if pd.api.types.is_bool_dtype(values):
        raise TypeError(f"{where}: ids must be integers or strings, not booleans.")
    if values.dtype.kind in "mMc" or isinstance(values.dtype, (pd.PeriodDtype, pd.IntervalDtype)):
        raise TypeError(f"{where}: ids must be integers or strings, not {values.dtype}.")
    if pd.api.types.is_integer_dtype(values):
        if pd.api.types.is_unsigned_integer_dtype(values):
            where.check(values.to_numpy() > INT64_MAX, values, "integer id does not fit in 64 bits "
                        "(store such ids as strings)", TypeError)
        return values.to_numpy(dtype=np.int64)  # may be a view: never written to
    if pd.api.types.is_float_dtype(values):
        arr = values.to_numpy(dtype=np.float64)
        where.check(arr != np.round(arr), values, "ids must be integers or strings "
                    "(a non-integral float id)", TypeError)
        where.check(np.abs(arr) > 2 ** 53, values, "float id too large to be exact; store ids as "
                    "integers or strings", TypeError)
        return arr.astype(np.int64)
    kind = pd.api.types.infer_dtype(values, skipna=False)
    if kind in ("string", "unicode"):
        arr = values.to_numpy(dtype=object)
        where.check((values.astype(str).str.strip() == "").to_numpy(), values, "empty id")
        return arr
    if kind == "integer":
        try:
            return values.to_numpy(dtype=np.int64)
        except OverflowError:
            raise TypeError(f"{where}: integer ids must fit in 64 bits; store them as strings "
                            f"instead.") from None
    types = np.array([type(v).__name__ for v in values.to_numpy(dtype=object)], dtype=object)
    where.check(types != types[0], values, f"ids must all have one type (row 0 holds "
                f"{types[0]}); convert the column with .astype(str)", TypeError)
    raise TypeError(f"{where}: ids must be integers or strings, got {types[0]} "
                    f"(row 0: {values.iloc[0]!r}).")


_NOT_NUMBERS = {"datetime64", "datetime", "date", "time", "timedelta64", "timedelta", "period",
                "interval", "complex", "bytes"}


def _check_real(where: Where, values: pd.Series, what: str) -> None:
    """TypeError for dates, durations, periods, complex numbers or bytes where numbers belong
    (``pd.to_numeric`` would silently turn them into numbers)."""
    kind = pd.api.types.infer_dtype(values, skipna=True)
    if values.dtype.kind in "mMc" or kind in _NOT_NUMBERS:
        raise TypeError(f"{where}: {what} must be real numbers, got {kind} values "
                        f"(row 0: {values.iloc[0]!r}).")


def _clean_numeric(where: Where, values: pd.Series) -> np.ndarray:
    if pd.api.types.is_bool_dtype(values) and not values.isna().any():
        return values.to_numpy(dtype=np.float32)
    _check_real(where, values, "ratings")
    coerced = pd.to_numeric(values, errors="coerce")
    where.check((coerced.isna() & values.notna()).to_numpy(), values, "a non-numeric rating")
    arr = coerced.to_numpy(dtype=np.float64, na_value=np.nan)
    where.check(~np.isfinite(arr), values, "ratings must be finite numbers (not NaN/inf)")
    where.check(np.abs(arr) > np.finfo(np.float32).max, values,
                "rating too large for float32 (rescale the ratings)")
    return arr.astype(np.float32)


def _clean_time(where: Where, values: pd.Series) -> np.ndarray:
    """Timestamps as int64 (datetimes in ns since the epoch) or float64."""
    if pd.api.types.is_datetime64_any_dtype(values):
        where.check(values.isna().to_numpy(), values, "missing timestamp")
        try:
            return values.dt.as_unit("ns").astype("int64").to_numpy()
        except (OverflowError, pd.errors.OutOfBoundsDatetime):
            raise ValueError(f"{where}: timestamps must lie between the years 1677 and 2262 "
                             f"(nanosecond datetimes); got {values.min()} .. {values.max()}.") from None
    if pd.api.types.is_integer_dtype(values) and not pd.api.types.is_bool_dtype(values):
        where.check(values.isna().to_numpy(), values, "missing timestamp")
        if pd.api.types.is_unsigned_integer_dtype(values):
            where.check(values.to_numpy(dtype=np.uint64) > INT64_MAX, values,
                        "timestamp does not fit in a signed 64-bit integer")
        return values.to_numpy(dtype=np.int64, copy=True)
    if values.dtype.kind == "c" or pd.api.types.infer_dtype(values, skipna=True) in ("complex", "bytes"):
        raise TypeError(f"{where}: timestamps must be real numbers or datetimes, got {values.dtype} "
                        f"(row 0: {values.iloc[0]!r}).")
    coerced = pd.to_numeric(values, errors="coerce")
    where.check((coerced.isna() & values.notna()).to_numpy(), values,
                "timestamps must be numeric or datetime (convert with pd.to_datetime)", TypeError)
    arr = coerced.to_numpy(dtype=np.float64, na_value=np.nan)
    where.check(~np.isfinite(arr), values, "timestamps must be finite (not NaN/inf)")
    return arr


def check_same_id_kind(frames: dict[str, dict[str, np.ndarray]], label: str) -> None:
    """TypeError naming the odd domain when user ids are integers in some domains and
    strings in others."""
    kinds = {d: "integer" if f["user"].dtype.kind == "i" else "string" for d, f in frames.items()}
    if len(set(kinds.values())) > 1:
        odd = next(d for d, k in kinds.items() if list(kinds.values()).count(k) == 1) \
            if len(kinds) > 2 else list(kinds)[-1]
        raise TypeError(f"Domain {odd!r}, column {label!r}, row 0: {kinds[odd]} user ids "
                        f"(got {frames[odd]['user'][0]!r}) while the domains hold {kinds} ids. "
                        f"The same user must have the same id in every domain: convert all of "
                        f"them to one type (e.g. .astype(str)).")


def collapse_duplicates(domain: str, frame: pd.DataFrame, n_items: int) -> pd.DataFrame:
    """Drop repeated ``(user, item)`` rows, keeping the latest (by time, then position) or the first.

    Vectorised on one int64 key per row; a sort finds whether there are any
    duplicates at all, and only the duplicated rows are ordered by time.
    """
    key = frame["user"].to_numpy() * np.int64(max(1, n_items)) + frame["item"].to_numpy()
    ordered = np.sort(key)
    repeated = ordered[1:][ordered[1:] == ordered[:-1]]
    if not len(repeated):
        return frame
    rows = np.flatnonzero(pd.Series(key).isin(repeated).to_numpy())
    sub = key[rows]
    if "time" in frame:
        order = np.lexsort((rows, frame["time"].to_numpy()[rows], sub))
        last = np.r_[sub[order][1:] != sub[order][:-1], True]
    else:
        order = np.argsort(sub, kind="stable")
        last = np.r_[True, sub[order][1:] != sub[order][:-1]]  # the first of each group
    drop = rows[order[~last]]
    log.info("Domain %r: collapsed %d duplicate (user, item) rows (kept the %s).", domain,
             len(drop), "latest by time" if "time" in frame else "first")
    keep = np.ones(len(frame), dtype=bool)
    keep[drop] = False
    return frame[keep].reset_index(drop=True)


def check_number(where: str, name: str, value: Any, integer: bool = False, positive: bool = False,
                 allowed: Sequence[Any] = ()) -> Any:
    """``value`` if it is a finite number of the asked kind (or one of ``allowed``), else a
    ``ValueError`` such as "fit: lr must be a positive number, got -1."."""
    if any(value is other or (isinstance(value, str) and value == other) for other in allowed):
        return value
    ok = (isinstance(value, numbers.Integral if integer else numbers.Real) and not isinstance(value, bool)
          and math.isfinite(value) and (value > 0 if positive else value >= 0))
    if not ok:
        sign = "positive" if positive else "non-negative"
        others = "".join(f" or {other!r}" for other in allowed)
        raise ValueError(f"{where}: {name} must be a {sign} {'integer' if integer else 'number'}{others}, "
                         f"got {value!r}.")
    return value
