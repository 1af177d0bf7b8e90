"""Raw ids as the user gives them: one id or many, looked up in an id index.

:class:`cdgraph.data.interactions.CrossDomainData` keeps raw user and item ids as pandas
indexes; :func:`lookup_ids` finds the positions of ids given as Python or NumPy scalars,
matching integer ids with integral floats as :meth:`CrossDomainData.from_frames` does.
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import pandas as pd

from cdgraph.data.checks import INT64_MAX

__all__ = ["as_int_id", "as_list", "lookup_ids"]


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


def lookup_ids(index: pd.Index, raw: list) -> np.ndarray:
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
        ok = np.array([as_int_id(r) is not None for r in raw], dtype=bool)
        query = np.array([as_int_id(r) if k else 0 for r, k in zip(raw, ok)], dtype=np.int64)
    else:
        ok = np.array([isinstance(r, str) for r in raw], dtype=bool)
        query = np.array([r if k else "" for r, k in zip(raw, ok)], dtype=object)
    idx = index.get_indexer(pd.Index(query, dtype=index.dtype)).astype(np.int64)
    idx[~ok] = -1
    return idx


def as_int_id(r: Any) -> int | None:
    """``r`` as a 64-bit integer id, or None when it cannot be one."""
    if isinstance(r, (bool, np.bool_)):
        return None
    if isinstance(r, (int, np.integer)):
        return int(r) if -INT64_MAX - 1 <= int(r) <= INT64_MAX else None
    if isinstance(r, (float, np.floating)) and np.isfinite(r) and float(r).is_integer() \
            and abs(r) <= 2 ** 53:
        return int(r)
    return None
