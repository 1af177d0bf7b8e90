"""Reading delimited interaction files (CSV, TSV, ``::``, ...) into pandas DataFrames.

Sniffs the delimiter, reads id columns as text, and checks what a file can get
wrong: a missing, empty or unparsable file, a line with another number of fields
than the header, a missing column, or a header line read with ``header=False``.
:meth:`cdgraph.data.interactions.CrossDomainData.read` is the public entry point; it builds on
:func:`read_table` and :func:`text_ids`.
"""
from __future__ import annotations

import csv
import os
import re
import warnings
from typing import Iterable

import numpy as np
import pandas as pd


def read_table(path: str | os.PathLike, sep: str | None = None, header: bool = True,
               domain: str | None = None, needed: list | None = None,
               id_columns: list | None = None) -> pd.DataFrame:
    """Read a delimited interactions file, sniffing the delimiter when ``sep`` is None.

    Columns are named by their header, or ``"0"``, ``"1"``, ... with ``header=False``;
    ``id_columns`` are read as text. Raises ValueError naming the file when it is
    missing, empty, unparsable or lacks a ``needed`` column.
    """
    label = f"Domain {domain!r}: file" if domain else "File"
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ValueError(f"{label} {path!r} does not exist.")
    if sep is None:
        with open(path, encoding="utf-8", errors="replace") as fh:
            first = fh.readline()
        sep = next((s for s in ("\t", "::", ",", ";") if s in first), r"\s+")
    if not isinstance(sep, str) or not sep:
        raise ValueError(f"sep must be a non-empty string or None, got {sep!r}.")
    ids = list(id_columns or [])
    try:
        # Ids are text kept as written: only an empty field is missing ("NA", "null",
        # "nan" are ids like any other); other columns use pandas' usual missing markers.
        # index_col=False: a first row longer than the header warns (made an error here)
        # instead of turning its leading fields into an index; a later one fails to parse.
        with warnings.catch_warnings():
            warnings.filterwarnings("error", "Length of header", pd.errors.ParserWarning)
            frame = pd.read_csv(path, sep=sep, header=0 if header else None, index_col=False,
                                dtype={c: str for c in ids}, keep_default_na=False,
                                na_values={c: [""] for c in ids},
                                engine="python" if len(sep) > 1 and sep != r"\s+" else "c")
    except pd.errors.EmptyDataError:
        raise ValueError(f"{label} {path!r} is empty.") from None
    except (pd.errors.ParserError, pd.errors.ParserWarning, UnicodeDecodeError, csv.Error,
            ValueError, IndexError) as exc:
        # (pandas' python engine can fail with an IndexError on a malformed file)
        raise ValueError(_field_count_problem(path, sep, header, label)
                         or f"{label} {path!r} could not be parsed: {type(exc).__name__}: {exc}") from None
    id_names = {str(c) for c in ids}
    frame.columns = [str(c) for c in frame.columns]
    for col in frame.columns:
        if col not in id_names and frame[col].dtype == object:
            frame[col] = frame[col].where(~frame[col].isin(_NA_VALUES))
    for col in needed or []:
        if str(col) not in frame.columns:
            raise ValueError(f"{label} {path!r} has no column {col!r}; it has {list(frame.columns)}"
                             + ("" if header else " (header=False: columns are numbered from 0)") + ".")
    needed_columns = [str(c) for c in needed or []]
    if frame[needed_columns].isna().to_numpy().any():  # maybe a line with too few fields
        problem = _field_count_problem(path, sep, header, label)
        if problem:
            raise ValueError(problem)
    if not header and len(frame) > 1:
        _check_no_header_line(frame[needed_columns], path, label)
    return frame


def _field_count_problem(path: str, sep: str, header: bool, label: str) -> str | None:
    """An error message naming the first line whose number of fields differs from the first
    line's, or None when all lines agree (or the file cannot be split in Python).

    Reads the file line by line in Python, so it is called only once pandas' result
    shows that something is off; blank lines are skipped, as pandas skips them.
    """
    try:
        with open(path, encoding="utf-8", errors="replace", newline="") as fh:
            if len(sep) == 1:
                reader = csv.reader(fh, delimiter=sep)
                counts: Iterable[tuple[int, int]] = ((reader.line_num, len(row)) for row in reader if row)
            else:  # pandas reads longer separators as regular expressions
                pattern = re.compile(sep)
                counts = ((n, len(pattern.split(line.strip() if sep == r"\s+" else line.rstrip("\r\n"))))
                          for n, line in enumerate(fh, 1) if line.strip())
            expected = None
            for line, count in counts:
                if expected is None:
                    expected = count
                elif count != expected:
                    first = "the header" if header else "the first line"
                    fields = f"{count} field{'s' * (count != 1)}"
                    return (f"{label} {path!r}, line {line}: {fields} where {first} has {expected}. "
                            f"Give every line as many fields as {first} (quote values that contain "
                            f"the delimiter {sep!r}), or pass the right sep.")
    except (csv.Error, re.error, OSError):
        pass
    return None


_HEADER_WORDS = {"user", "item", "rating", "time", "timestamp", "ts", "user_id", "item_id", "userid",
                 "itemid", "uid", "iid", "users", "items", "ratings", "split", "part", "label"}


def _check_no_header_line(frame: pd.DataFrame, path: str, label: str) -> None:
    """ValueError when, with ``header=False``, the first row looks like column names: all of
    its values are usual column names, or a column holds text there and numbers in the
    (up to 1000) rows below. Looks at those rows only."""
    head = frame.iloc[:1001]
    first = head.iloc[0]
    names = all(str(v).strip().lower() in _HEADER_WORDS for v in first)
    numeric = head.apply(lambda col: pd.to_numeric(col, errors="coerce").notna())
    text_over_numbers = (~numeric.iloc[0] & first.notna() & numeric.iloc[1:].all()).any()
    if names or text_over_numbers:
        raise ValueError(f"{label} {path!r}: header=False but its first line looks like column "
                         f"names ({', '.join(map(repr, first.tolist()))}). Pass header=True and "
                         f"name the columns (e.g. user='user'), or remove that line.")


_NA_VALUES = ["", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
              "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"]


def text_ids(columns: list[pd.Series]) -> list[pd.Series]:
    """Id columns read as text, without surrounding whitespace: int64 when every id of all
    ``columns`` is then a plain integer, else strings. Plain integers are not stripped again."""
    if not all(plain_integers(c) for c in columns):
        columns = [c.str.strip() for c in columns]
        if not all(plain_integers(c) for c in columns):
            return columns
    return [c.astype(np.int64) for c in columns]


def plain_integers(values: pd.Series) -> bool:
    """Whether a text column holds only integers written without sign, spaces or leading zeros
    (so that converting them to int64 loses nothing)."""
    if pd.api.types.is_integer_dtype(values):
        return True
    if values.isna().any():
        return False
    return bool(values.astype(str).str.fullmatch(r"0|-?[1-9][0-9]{0,17}").all())
