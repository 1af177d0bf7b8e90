"""Item side information: text fields and numeric vectors, aligned to a domain's item index.

Knowledge-fusion models encode item titles with a language model, or take precomputed
embeddings: per domain they need one text and/or one vector per item *index*. A user gives one
table per domain keyed by raw item id; :func:`item_features_of` checks it as interactions are
checked (an error names the domain, the column, the row and what to do) and aligns it to the
domain's item index as an :class:`ItemFeatures`, which
:class:`~cdgraph.data.interactions.CrossDomainData` keeps and serves.

Every column other than the item id column is a feature, of one of three kinds:

* ``"text"``: strings. A missing cell (None/NaN) leaves that field empty for that item.
* ``"number"``: one real number per item (bool, integer or float column): one dimension of the
  item's vector. A missing number is an error (the vector would be incomplete).
* ``"vector"``: cells holding equal-length 1-D arrays of real numbers (lists, tuples or NumPy
  arrays), e.g. embeddings computed elsewhere. A missing cell (None/NaN) means that the item
  has no vector in that column.

Numbers must be finite and fit in float32, the dtype models receive. Items without a row are
allowed: they have no features (:attr:`ItemFeatures.present` is False).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from numbers import Real
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from cdgraph.data.checks import Where, clean_ids
from cdgraph.data.files import read_table, text_ids

__all__ = ["ItemFeatures", "feature_tables", "item_features_of", "read_feature_table", "TEXT", "NUMBER",
           "VECTOR"]

TEXT, NUMBER, VECTOR = "text", "number", "vector"
_FLOAT32_MAX = float(np.finfo(np.float32).max)
_ARRAYS = (list, tuple, np.ndarray)


@dataclass(frozen=True)
class ItemFeatures:
    """One domain's item features; row ``i`` belongs to item index ``i``.

    Attributes:
        domain (str): The domain, for error messages.
        present (numpy.ndarray): bool ``[num_items]``: the item has a row in the table.
        kinds (dict[str, str]): Column -> ``"text"``, ``"number"`` or ``"vector"``, in table order.
        values (dict[str, numpy.ndarray]): Column -> aligned values: text as an object array
            of ``str`` (None where missing), numbers as float64 (NaN for items without a row),
            vectors as float32 ``[num_items, width]`` (zeros where missing).
        has_vector (dict[str, numpy.ndarray]): Vector column -> bool ``[num_items]``.
    """

    domain: str
    present: np.ndarray
    kinds: dict[str, str]
    values: dict[str, np.ndarray]
    has_vector: dict[str, np.ndarray]

    @property
    def num_items(self) -> int:
        return len(self.present)

    @property
    def coverage(self) -> float:
        """Share of the items that have a row (0.0 for a domain without items)."""
        return float(self.present.mean()) if len(self.present) else 0.0

    def padded(self, num_items: int) -> "ItemFeatures":
        """The same features over ``num_items`` items: items appended to the index after the
        table was set (e.g. items that occur only as fixed negatives) have no row."""
        extra = num_items - self.num_items
        if extra < 0:
            raise ValueError(f"Domain {self.domain!r}: item features cover {self.num_items} items but "
                             f"the item index has {num_items}; the index may only grow. Set the item "
                             f"features again with CrossDomainData.set_item_features.")
        if extra == 0:
            return self

        def pad(a: np.ndarray, fill: Any) -> np.ndarray:
            return np.concatenate([a, np.full((extra,) + a.shape[1:], fill, dtype=a.dtype)])

        fills = {TEXT: None, NUMBER: np.nan, VECTOR: 0}
        return ItemFeatures(self.domain, pad(self.present, False), dict(self.kinds),
                            {c: pad(v, fills[self.kinds[c]]) for c, v in self.values.items()},
                            {c: pad(v, False) for c, v in self.has_vector.items()})

    def columns(self, columns: str | Sequence[str] | None, kinds: tuple[str, ...]) -> list[str]:
        """``columns`` (all columns of ``kinds`` when None), checked to exist and be of ``kinds``."""
        if columns is None:
            return [c for c, k in self.kinds.items() if k in kinds]
        names = [columns] if isinstance(columns, str) else list(columns)
        for c in names:
            if c not in self.kinds:
                raise ValueError(f"Domain {self.domain!r} has no item feature column {c!r}; its "
                                 f"columns are {self.kinds or 'none (no item features were given)'}.")
            if self.kinds[c] not in kinds:
                fitting = [n for n, k in self.kinds.items() if k in kinds]
                raise ValueError(f"Domain {self.domain!r}: item feature column {c!r} holds "
                                 f"{self.kinds[c]} values, not {' or '.join(kinds)}; choose among "
                                 f"{fitting}.")
        return names

    def frame(self, index: pd.Index) -> pd.DataFrame:
        """The features as a DataFrame indexed by ``index`` (the raw item ids); NaN where missing,
        vector cells as float32 arrays."""
        out = {}
        for c, kind in self.kinds.items():
            v = self.values[c]
            if kind == TEXT:
                v = np.where(pd.isna(v), np.nan, v).astype(object)
            elif kind == VECTOR:
                cells = np.empty(len(v), dtype=object)
                cells[:] = list(v)
                cells[~self.has_vector[c]] = np.nan
                v = cells
            out[c] = v
        return pd.DataFrame(out, index=index, columns=list(self.kinds))

    def text(self, columns: str | Sequence[str] | None = None, sep: str = " ") -> list[str]:
        """Per item, its non-empty text fields of ``columns`` joined by ``sep`` ("" for none)."""
        if not isinstance(sep, str):
            raise TypeError(f"sep must be a string, got {sep!r} ({type(sep).__name__}).")
        out = np.full(self.num_items, "", dtype=object)
        for c in self.columns(columns, (TEXT,)):
            v = self.values[c]
            v = np.where(pd.isna(v), "", v).astype(object)
            out = np.where((out != "") & (v != ""), out + sep + v, out + v)
        return out.tolist()

    def vectors(self, columns: str | Sequence[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``columns``' numbers and vectors side by side, float32 ``[num_items, d]``, and the bool
        mask of the items that have all of them (their other rows are zeros)."""
        names = self.columns(columns, (NUMBER, VECTOR))
        if not names:
            raise ValueError(f"Domain {self.domain!r} has no numeric item feature column (its columns: "
                             f"{self.kinds or 'none'}). Give numbers or arrays of numbers in the item "
                             f"features, or use item_text for text columns.")
        mask, parts = self.present.copy(), []
        for c in names:
            if self.kinds[c] == NUMBER:
                parts.append(np.nan_to_num(self.values[c], nan=0.0).astype(np.float32)[:, None])
            else:
                parts.append(self.values[c])
                mask &= self.has_vector[c]
        matrix = np.concatenate(parts, axis=1)
        matrix[~mask] = 0
        return matrix, mask


def item_features_of(domain: str, frame: Any, item_ids: pd.Index, item: Any) -> ItemFeatures:
    """Check one domain's feature table and align it to the domain's item index ``item_ids``.

    Args:
        domain (str): The domain, for error messages.
        frame (DataFrame): One row per item: the raw item id in column ``item`` (or in the
            index, when the index is named ``item``), the features in the other columns.
        item_ids (pandas.Index): Raw item id of each item index of the domain.
        item: The label of the item id column.

    Raises:
        TypeError: not a DataFrame, a column of another kind than text, numbers or arrays
            of numbers, non-string column labels, or ids of another kind than the items'.
        ValueError: no id column or no feature column, a missing or empty id, an item that
            is not among the domain's items, an item on two rows, a missing, NaN or
            infinite number, vectors of unequal widths. The message names the domain, the
            column and the row.
    """
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"item_features[{domain!r}]: expected a pandas DataFrame with an item id column "
                        f"and feature columns, got {type(frame).__name__}.")
    where = Where(domain, frame.index, table=" item features")
    ids, columns = _id_column(where, frame, item)
    pos = _positions(where(item), ids, item_ids)
    n = len(item_ids)
    kinds, values, has_vector = {}, {}, {}
    for col in columns:
        kind, clean, has = _clean_column(where(col), frame[col])
        kinds[col] = kind
        if kind == VECTOR:
            values[col] = np.zeros((n, clean.shape[1]), dtype=np.float32)
            values[col][pos[has]] = clean
            has_vector[col] = np.zeros(n, dtype=bool)
            has_vector[col][pos[has]] = True
        else:
            values[col] = np.full(n, None if kind == TEXT else np.nan,
                                  dtype=object if kind == TEXT else np.float64)
            values[col][pos] = clean
    present = np.zeros(n, dtype=bool)
    present[pos] = True
    return ItemFeatures(domain, present, kinds, values, has_vector)


def feature_tables(tables: Any, domains: Mapping[str, Any]) -> dict[str, Any]:
    """``item_features`` as a dict; TypeError / ValueError for another type or an unknown domain."""
    if tables is None:
        return {}
    if not isinstance(tables, Mapping):
        raise TypeError(f"item_features must be a dict of domain name -> table, got {type(tables).__name__}.")
    for domain in tables:
        if domain not in domains:
            raise ValueError(f"item_features names domain {domain!r}, which is not among the domains "
                             f"{list(domains)}; key the tables by the domain names of the interactions.")
    return dict(tables)


def read_feature_table(domain: str, table: Any, key: str, sep: str | None, items: pd.Series) -> pd.DataFrame:
    """A feature table given as a file, its item ids read as the domain's items are (integers
    only when the domain's item ids are)."""
    if isinstance(table, pd.DataFrame):
        return table
    if not isinstance(table, (str, os.PathLike)):
        raise TypeError(f"item_features[{domain!r}]: expected a DataFrame or a file path, got "
                        f"{type(table).__name__}.")
    try:
        frame = read_table(table, sep=sep, header=True, domain=domain, needed=[key], id_columns=[key])
    except ValueError as exc:
        hint = (f" Name the item id column of the feature files with feature_item= (default: the item "
                f"column, {key!r}).") if "has no column" in str(exc) else ""
        raise ValueError(f"item_features[{domain!r}]: {exc}{hint}") from None
    raw = frame[str(key)]
    ids = text_ids([raw])[0]
    if not pd.api.types.is_integer_dtype(items) and pd.api.types.is_integer_dtype(ids):
        ids = raw.str.strip()
    frame[str(key)] = ids
    return frame


def _id_column(where: Where, frame: pd.DataFrame, item: Any) -> tuple[pd.Series, list[str]]:
    """The raw item ids (a column, or the index named ``item``) and the feature column labels."""
    try:
        hash(item)
    except TypeError:
        raise TypeError(f"The item id column of item features must be one column label, "
                        f"got {item!r}.") from None
    repeated = frame.columns[frame.columns.duplicated()]
    if len(repeated):
        raise ValueError(f"Domain {where.domain!r} item features: column {repeated[0]!r} appears "
                         f"{int((frame.columns == repeated[0]).sum())} times; give columns unique names.")
    if item in frame.columns:
        ids = frame[item]
    elif frame.index.name == item and item is not None:
        ids = pd.Series(frame.index.to_numpy(), index=frame.index)
    else:
        raise ValueError(f"Domain {where.domain!r} item features: no item id column {item!r} (columns "
                         f"{list(frame.columns)}, index named {frame.index.name!r}). Put the raw item ids "
                         f"in a column (or the index) named {item!r}, or name their column with item= "
                         f"(feature_item= in from_frames and read).")
    columns = [c for c in frame.columns if c != item]
    if not columns:
        raise ValueError(f"Domain {where.domain!r} item features: no feature column besides the item id "
                         f"column {item!r}; add text or numeric columns.")
    for c in columns:
        if not isinstance(c, str):
            raise TypeError(f"Domain {where.domain!r} item features: column labels must be strings, got "
                            f"{c!r}; rename the columns, e.g. frame.columns = frame.columns.astype(str).")
    return ids, columns


def _positions(where: Where, ids: pd.Series, item_ids: pd.Index) -> np.ndarray:
    """Item index of each row; errors for missing, unknown or repeated items."""
    if len(ids) == 0:
        return np.empty(0, dtype=np.int64)
    raw = clean_ids(where, ids)
    integer_items = pd.api.types.is_integer_dtype(item_ids.dtype)
    if (raw.dtype.kind == "i") != integer_items:
        kinds = ("integer", "string") if integer_items else ("string", "integer")
        raise TypeError(f"{where.at(0)}: {kinds[1]} item ids (got {raw[0]!r}) while the items of domain "
                        f"{where.domain!r} have {kinds[0]} ids (e.g. {list(item_ids[:3])}); use the ids "
                        f"of the interactions (convert the column, e.g. with .astype).")
    pos = item_ids.get_indexer(pd.Index(raw)).astype(np.int64)
    where.check(pos < 0, ids, f"item id not among the {len(item_ids)} items of domain {where.domain!r} "
                              f"(an item is in the index once it has an interaction); drop the rows of "
                              f"unknown items")
    repeated = pd.Series(pos).duplicated(keep="first").to_numpy()
    if repeated.any():
        row = int(np.argmax(repeated))
        first = int(np.argmax(pos == pos[row]))
        raise ValueError(f"{where.at(row)}: item {raw[row]!r} already has a row (row {first}); give each "
                         f"item one row (e.g. frame.drop_duplicates({where.column!r})).")
    return pos


def _clean_column(where: Where, values: pd.Series) -> tuple[str, np.ndarray, np.ndarray]:
    """(kind, clean values of the rows, bool mask of the rows that hold a vector)."""
    all_rows = np.ones(len(values), dtype=bool)
    if isinstance(values.dtype, pd.CategoricalDtype):
        values = pd.Series(np.asarray(values, dtype=object), index=values.index)
    if values.dtype.kind in "mMc" or isinstance(values.dtype, (pd.PeriodDtype, pd.IntervalDtype)):
        raise TypeError(f"{where}: feature columns hold text, numbers or arrays of numbers, not "
                        f"{values.dtype}; convert the column (e.g. with .astype(str)).")
    if pd.api.types.is_numeric_dtype(values.dtype):
        return NUMBER, _clean_numbers(where, values), all_rows
    missing = values.isna().to_numpy()
    cells = values.to_numpy(dtype=object, copy=True)  # written to below: never the caller's array
    if missing.all():
        return TEXT, np.full(len(values), None, dtype=object), all_rows
    first = cells[int(np.argmin(missing))]
    if isinstance(first, str):
        strings = np.fromiter((isinstance(c, str) for c in cells), dtype=bool, count=len(cells))
        where.check(~strings & ~missing, values, "a text column holds strings only (or None where the "
                                                 "item has no such text); convert it with .astype(str)",
                    TypeError)
        cells[missing] = None
        return TEXT, cells, all_rows
    if isinstance(first, _ARRAYS):
        matrix, has = _clean_vectors(where, values, cells, missing)
        return VECTOR, matrix, has
    if isinstance(first, Real) and not isinstance(first, (bool, np.bool_)):
        return NUMBER, _clean_numbers(where, values), all_rows
    raise TypeError(f"{where.at(int(np.argmin(missing)))}: feature columns hold text, numbers or arrays "
                    f"of numbers, got {type(first).__name__} ({first!r}); convert the column.")


def _clean_numbers(where: Where, values: pd.Series) -> np.ndarray:
    """A column of real numbers as float64; every row needs a finite float32-sized number."""
    if values.dtype == object:
        coerced = pd.to_numeric(values, errors="coerce")
        where.check((coerced.isna() & values.notna()).to_numpy(), values,
                    "a numeric column holds numbers only", TypeError)
        values = coerced
    arr = values.to_numpy(dtype=np.float64, na_value=np.nan)
    where.check(np.isnan(arr), values, "missing number: numbers make up the item's vector, so every "
                                       "row needs one; fill it, or drop the row (the item then has no "
                                       "features)")
    where.check(np.isinf(arr), values, "numeric features must be finite")
    where.check(np.abs(arr) > _FLOAT32_MAX, values, "number too large for float32 (rescale the column)")
    return arr


def _clean_vectors(where: Where, values: pd.Series, cells: np.ndarray,
                   missing: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cells holding 1-D arrays of numbers as one float32 matrix (rows of the cells that hold
    one) and the mask of those cells."""
    arrays_ = np.fromiter((isinstance(c, _ARRAYS) for c in cells), dtype=bool, count=len(cells))
    where.check(~arrays_ & ~missing, values, "a vector column holds arrays of numbers (lists, tuples or "
                                             "1-D NumPy arrays), or None where the item has no vector",
                TypeError)
    rows = np.flatnonzero(~missing)
    arrays = [np.asarray(cells[r]) for r in rows]
    for bad, what, exc in (
            (np.fromiter((a.ndim != 1 for a in arrays), bool, len(rows)), "vectors must be 1-D", ValueError),
            (np.fromiter((a.dtype.kind not in "biuf" for a in arrays), bool, len(rows)),
             "vector entries must be real numbers", TypeError)):
        if bad.any():
            first = arrays[int(np.argmax(bad))]
            raise exc(f"{where.at(int(rows[np.argmax(bad)]))}: {what}, got a {first.dtype} array of shape "
                      f"{first.shape}. Fix or drop such rows first.")
    widths = np.fromiter((len(a) for a in arrays), dtype=np.int64, count=len(rows))
    if widths[0] == 0:
        raise ValueError(f"{where.at(int(rows[0]))}: an empty vector; give a vector of at least one "
                         f"number, or None where the item has no vector.")
    wrong = widths != widths[0]
    if wrong.any():
        row = int(rows[np.argmax(wrong)])
        raise ValueError(f"{where.at(row)}: a vector of width {int(widths[np.argmax(wrong)])} where row "
                         f"{int(rows[0])} has width {int(widths[0])}; give every item of the column a "
                         f"vector of the same width.")
    matrix = np.stack(arrays).astype(np.float64)
    for bad, what in ((~np.isfinite(matrix), "a NaN or infinite value"),
                      (np.abs(np.nan_to_num(matrix)) > _FLOAT32_MAX, "a value too large for float32")):
        if bad.any():
            r, j = np.unravel_index(int(np.argmax(bad)), bad.shape)
            raise ValueError(f"{where.at(int(rows[r]))}: {what} at position {int(j)} of the vector "
                             f"({float(matrix[r, j])!r}); vector values must be finite float32 numbers. Fix "
                             f"the vector, or set the cell to None (the item then has no vector).")
    return matrix.astype(np.float32), ~missing
