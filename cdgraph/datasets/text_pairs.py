"""Readers of the Amazon pairs that ship item text with mixed-domain sequences.

* LLMCDSR (Xin et al., ACM TOIS 2025), Grocery & Gourmet Food ("food", domain A) <-> Home &
  Kitchen ("kitchen", domain B), ``amazon_llmcdsr/food-kitchen/``. Lines
  ``user<TAB>item,item,...`` in sequence order; item ids are one global space (A first, then
  B, the boundary being the size of ``item_set_A.pkl``). ``train_A``, ``train_B`` and
  ``train_overlap`` hold three groups of people whose ids each restart at 1; ``valid`` and
  ``test`` hold further people, whose last item is held out. ``item_set_X.pkl`` maps
  ASIN -> local index and ``text_X.pkl`` ASIN -> title, both pickled plain dicts read with
  :func:`cdgraph.datasets.pickles.read_plain_pickle` (no global may run).
* URLLM (Shen et al., 2024), Arts, Crafts & Sewing ("art", domain A) <-> Office Products
  ("office", domain O), ``amazon_urllm/AO/``. ``item_list*.csv`` give each global item id
  (``idAfter``) its title and attribute text (category path and brand). Lines
  ``user<TAB>len<TAB>item|pos|pos<TAB>...``: every user has two lines with the same ``len``
  history entries and one held-out target each (the entry at position ``len``).

Both become a :class:`~cdgraph.CrossDomainData` with a ``time`` column (the position in the
user's sequence, so the latest duplicate is kept and ``leave_one_out`` follows sequence order)
and a ``part`` column for :func:`cdgraph.data.split.predefined`: train-file users are all
``train``; a valid/test user's history is ``train`` and its held-out target(s) ``valid`` /
``test`` in the target's domain. The held-out users are new people: ``predefined`` trains on
their earlier items (both domains) and holds out their targets that are in the target domain;
a target of the other domain is left out, not trained on, so that the training part is the
same whichever domain is the target and no model trains on an item upstream holds out. Item
titles (and attributes) are attached as item features; catalogue items without interactions
are appended to the item index, so they can be ranked and drawn as negatives.
"""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd

from cdgraph.data.interactions import CrossDomainData
from cdgraph.datasets.catalog import DatasetSpec
from cdgraph.datasets.pickles import read_plain_pickle

__all__ = ["read_llmcdsr", "read_urllm"]

# LLMCDSR's sequence files: file stem -> user id prefix (the group of people) and held-out label.
_LLMCDSR_FILES = {"train_A": ("A", "train"), "train_B": ("B", "train"), "train_overlap": ("overlap", "train"),
                  "valid": ("valid", "valid"), "test": ("test", "test")}
_URLLM_FILES = {"train_F2": "train", "valid_F2": "valid", "test_F2": "test"}


def read_llmcdsr(s: DatasetSpec, root: Path) -> CrossDomainData:
    """LLMCDSR's Food-Kitchen: raw item ids are ASINs, raw user ids ``"<group>:<id>"`` with the
    group ``A`` (food-only), ``B`` (kitchen-only), ``overlap``, ``valid`` or ``test``."""
    folder = root / s.dirs[s.domains[0]]
    asins, titles = {}, {}
    for domain, letter in zip(s.domains, "AB"):
        asins[domain] = _asins(folder / f"item_set_{letter}.pkl", s.name)
        titles[domain] = _titles(folder / f"text_{letter}.pkl", s.name, asins[domain])
    n_a, n_b = len(asins[s.domains[0]]), len(asins[s.domains[1]])
    rows = []
    for stem, (group, held_out) in _LLMCDSR_FILES.items():
        seq = _comma_sequences(folder / f"{stem}.txt", s.name, n_a + n_b)
        seq["user"] = f"{group}:" + seq["user"]
        seq["part"] = np.where(seq.pop("last").to_numpy(), held_out, "train")
        rows.append(seq)
    seq = pd.concat(rows, ignore_index=True)
    in_a = seq["item"].to_numpy() < n_a
    frames = {}
    for domain, mask, offset in ((s.domains[0], in_a, 0), (s.domains[1], ~in_a, n_a)):
        frame = seq[mask].reset_index(drop=True)
        frame["item"] = asins[domain][frame["item"].to_numpy() - offset]
        frames[domain] = frame
    data = CrossDomainData.from_frames(frames, time="time", split="part")
    for domain in s.domains:
        attach_catalogue(data, domain, pd.DataFrame({"item": asins[domain], "title": titles[domain]}))
    return data


def read_urllm(s: DatasetSpec, root: Path) -> CrossDomainData:
    """URLLM's Art-Office: raw item ids are upstream's global ``idAfter`` integers, raw user ids
    upstream's integers (train 0-7999, test 8000-8999, valid 9000-9576: different people)."""
    folder = root / s.dirs[s.domains[0]]
    catalogue = {d: _item_list(folder / name, s.name)
                 for d, name in zip(s.domains, ("item_listA_F.csv", "item_listO_AA_F.csv"))}
    known = pd.Index(np.concatenate([c["item"].to_numpy() for c in catalogue.values()]))
    domain_of = np.repeat(np.arange(len(s.domains)), [len(c) for c in catalogue.values()])
    rows, seen = [], {}
    for stem, held_out in _URLLM_FILES.items():
        path = folder / f"{stem}.txt"
        seq = _bar_sequences(path, s.name)
        users = np.unique(seq["user"].to_numpy())
        for other, other_users in seen.items():
            both = np.intersect1d(users, other_users)
            if len(both):
                raise ValueError(f"Dataset {s.name!r}: user {int(both[0])} is in both {other!r} and "
                                 f"{str(path)!r}, whose users are different people; the file is not "
                                 f"the pinned upstream file.")
        seen[str(path)] = users
        where = known.get_indexer(seq["item"].to_numpy())
        if (where < 0).any():
            line = int(seq["line"].to_numpy()[np.argmax(where < 0)])
            raise ValueError(f"Dataset {s.name!r}: file {str(path)!r}, line {line}: item "
                             f"{int(seq['item'].to_numpy()[np.argmax(where < 0)])} is in neither item list.")
        seq["domain"] = domain_of[where]
        seq["part"] = np.where(seq.pop("target").to_numpy(), held_out, "train")
        rows.append(seq.drop(columns="line"))
    seq = pd.concat(rows, ignore_index=True)
    frames = {d: seq[seq["domain"].to_numpy() == k].drop(columns="domain").reset_index(drop=True)
              for k, d in enumerate(s.domains)}
    data = CrossDomainData.from_frames(frames, time="time", split="part")
    for domain in s.domains:
        attach_catalogue(data, domain, catalogue[domain])
    return data


def attach_catalogue(data: CrossDomainData, domain: str, table: pd.DataFrame) -> None:
    """Append the catalogue items of ``table`` (column ``item``) that have no interaction to
    ``domain``'s item index (counted in ``meta["catalogue_only_items"]``), then set ``table``
    as the domain's item features."""
    ids = data.item_ids[domain]
    extra = table["item"][~table["item"].isin(ids)].to_numpy()
    if len(extra):
        data.item_ids[domain] = ids.append(pd.Index(extra, name=ids.name))
    data.meta.setdefault("catalogue_only_items", {})[domain] = int(len(extra))
    data.set_item_features(domain, table)


def _asins(path: Path, dataset: str) -> np.ndarray:
    """``item_set_X.pkl`` (ASIN -> local index 0..n-1) as the ASIN of each local index."""
    table = read_plain_pickle(path, dataset)
    ok = isinstance(table, dict) and all(isinstance(k, str) and type(v) is int for k, v in table.items())
    index = np.fromiter(table.values(), dtype=np.int64, count=len(table)) if ok else None
    if not ok or not np.array_equal(np.sort(index), np.arange(len(table))):
        raise ValueError(f"Dataset {dataset!r}: file {str(path)!r} is not a dict of ASIN -> local index "
                         f"0..n-1; it is not the pinned upstream file.")
    out = np.empty(len(table), dtype=object)
    out[index] = list(table)
    return out


def _titles(path: Path, dataset: str, asins: np.ndarray) -> np.ndarray:
    """``text_X.pkl`` (ASIN -> title) aligned to ``asins`` (None where an item has no title)."""
    table = read_plain_pickle(path, dataset)
    if not isinstance(table, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                              for k, v in table.items()):
        raise ValueError(f"Dataset {dataset!r}: file {str(path)!r} is not a dict of ASIN -> title; it is "
                         f"not the pinned upstream file.")
    titles = pd.Series(table, dtype=object).reindex(asins).to_numpy(dtype=object, copy=True)
    titles[pd.isna(titles)] = None
    return titles


def _item_list(path: Path, dataset: str) -> pd.DataFrame:
    """``item_list*.csv`` as columns ``item`` (``idAfter``), ``title`` and ``attribute``, texts as
    written (an empty field is an empty text, not a missing value)."""
    try:
        table = pd.read_csv(path, dtype={"item_title": str, "item_attribute": str}, keep_default_na=False)
        table = table[["idAfter", "item_title", "item_attribute"]]
        ids = table["idAfter"].to_numpy(np.int64)
    except (ValueError, KeyError, pd.errors.ParserError) as exc:
        raise ValueError(f"Dataset {dataset!r}: file {str(path)!r} is not a CSV with integer idAfter, "
                         f"item_title and item_attribute columns ({type(exc).__name__}: {exc}); it is "
                         f"not the pinned upstream file.") from None
    return pd.DataFrame({"item": ids, "title": table["item_title"].to_numpy(object),
                         "attribute": table["item_attribute"].to_numpy(object)})


def _comma_sequences(path: Path, dataset: str, n_items: int) -> pd.DataFrame:
    """``user<TAB>item,item,...`` lines as rows ``user`` (text), ``item`` (global id), ``time``
    (position in the line) and ``last`` (the line's last item)."""
    try:
        lines = pd.read_csv(path, sep="\t", header=None, names=["user", "items"], dtype=str,
                            keep_default_na=False, engine="c")
    except (ValueError, pd.errors.ParserError) as exc:
        raise ValueError(f"Dataset {dataset!r}: file {str(path)!r} is not 'user<TAB>item,item,...' lines "
                         f"({exc}); it is not the pinned upstream file.") from None
    seq = lines["items"].str.rstrip(",").str.split(",")
    flat = seq.explode()
    items = pd.to_numeric(flat, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    bad = np.isnan(items) | (items < 0) | (items >= n_items) | (items != np.round(items))
    if bad.any() or lines["user"].eq("").any():
        line = int(flat.index[np.argmax(bad)]) if bad.any() else int(np.argmax(lines["user"].eq("")))
        raise ValueError(f"Dataset {dataset!r}: file {str(path)!r}, line {line + 1}: not "
                         f"'user<TAB>item,item,...' with item ids in 0..{n_items - 1}; it is not the "
                         f"pinned upstream file.")
    time = flat.groupby(level=0).cumcount().to_numpy(np.int64)
    return pd.DataFrame({"user": lines["user"].to_numpy()[flat.index], "item": items.astype(np.int64),
                         "time": time, "last": time == seq.str.len().to_numpy()[flat.index] - 1})


def _bar_sequences(path: Path, dataset: str) -> pd.DataFrame:
    """``user<TAB>len<TAB>item|pos|pos<TAB>...`` lines as rows ``user``, ``item``, ``time``
    (the entry's position), ``target`` (position ``len``: the line's held-out item) and ``line``;
    the history both lines of a user repeat is kept once."""
    text = path.read_text(encoding="utf-8").replace("|", "\t")
    width = max((line.count("\t") for line in text.splitlines()), default=0) + 1
    try:  # one row per line, NaN-padded: [user, len, item_0, pos_0, pos_0, item_1, ...]
        table = pd.read_csv(io.StringIO(text), sep="\t", header=None, names=range(max(width, 2)),
                            dtype=np.float64, skip_blank_lines=False, engine="c").to_numpy()
    except (ValueError, pd.errors.ParserError) as exc:
        raise ValueError(f"Dataset {dataset!r}: file {str(path)!r} is not 'user<TAB>len<TAB>item|pos|pos"
                         f"<TAB>...' lines of integers ({exc}); it is not the pinned upstream "
                         f"file.") from None
    user, length = table[:, 0], table[:, 1]
    n = (table.shape[1] - 2) // 3
    entries = table[:, 2:2 + 3 * n].reshape(len(table), n, 3)
    position = np.arange(n)
    expected = position[None, :] <= length[:, None]
    filled = ~np.isnan(entries)
    bad = np.isnan(user) | np.isnan(length) | (filled.any(axis=2) != expected).any(axis=1) \
        | (filled.any(axis=2) != filled.all(axis=2)).any(axis=1) \
        | (expected & ((entries[:, :, 1] != position) | (entries[:, :, 2] != position))).any(axis=1) \
        | ~np.isnan(table[:, 2 + 3 * n:]).all(axis=1)
    if bad.any():
        raise ValueError(f"Dataset {dataset!r}: file {str(path)!r}, line {int(np.argmax(bad)) + 1}: not "
                         f"'user<TAB>len<TAB>item|pos|pos<TAB>...' with len + 1 entries at positions "
                         f"0..len; it is not the pinned upstream file.")
    line, time = np.nonzero(expected)
    frame = pd.DataFrame({"user": user[line].astype(np.int64),
                          "item": entries[line, time, 0].astype(np.int64), "time": time.astype(np.int64),
                          "target": time == length[line], "line": line + 1})
    return frame.drop_duplicates(["user", "item", "time"], ignore_index=True)
