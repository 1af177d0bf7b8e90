"""Readers that turn the shipped files of a public pair into a :class:`~cdgraph.CrossDomainData`.

Five layouts are supported, each the split that its paper evaluates:

* DisenCDR (Cao et al., SIGIR 2022), four Amazon pairs with 100 % overlapping users.
  ``<x>_<y>/train.txt`` and ``test.txt`` hold domain x; lines ``user<TAB>item<TAB>1``.
  ``test.txt`` is the file DisenCDR evaluates: its ``test_original.txt`` (one held-out item
  per user, every user) minus the cases whose item never occurs in train; the original is
  not read. Raw user ids are the shared integer ids, raw item ids the per-domain integers.
* CDRIB (Cao et al., ICDE 2022), two Amazon pairs with cold-start users:
  ``train/valid/test.txt`` lines ``user<TAB>item``.
* GA-DTCDR (Zhu et al., IJCAI 2020), Douban Book & Music ``ratings.dat``.
* LLMCDSR (Xin et al., ACM TOIS 2025) and URLLM (Shen et al., 2024), Amazon pairs with item
  titles (and attributes) and mixed-domain sequences: read by :mod:`cdgraph.datasets.text_pairs`.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import pandas as pd

from cdgraph.data.interactions import CrossDomainData
from cdgraph.datasets.catalog import DatasetSpec, info, spec
from cdgraph.datasets.download import ensure_files
from cdgraph.datasets.text_pairs import read_llmcdsr, read_urllm

log = logging.getLogger(__name__)

__all__ = ["load"]


def load(name: str, root: str | os.PathLike | None = None, download: bool = True) -> CrossDomainData:
    """Load the public cross-domain pair ``name`` (see :func:`available`).

    Args:
        name (str): e.g. ``"amazon-sport-cloth"``, ``"amazon-coldstart-game-video"``,
            ``"douban-book-music"``, ``"amazon-food-kitchen"``, ``"amazon-art-office"``.
        root (path, optional): Folder holding (or receiving) the upstream file layout,
            e.g. ``root/amazon_disencdr/sport_cloth/train.txt``. Defaults to
            ``$CDGRAPH_DATA``, else ``$XDG_CACHE_HOME/cdgraph`` (``~/.cache/cdgraph``).
            Files present there are only read (root may be read-only) and must match
            their pinned sha256.
        download (bool): Fetch missing files from their pinned upstream commit.

    Returns:
        CrossDomainData: ``name`` set; ``meta["protocol"]`` holds ``split``
        (``"predefined"``: use :func:`cdgraph.data.split.predefined`; ``"leave_one_out"``),
        ``num_negatives`` and ``metrics`` of the paper's evaluation.

    Layout notes per family:

    * ``amazon-*`` (DisenCDR): a ``part`` column labels ``train``/``test`` rows. For
      ``amazon-elec-phone`` the fixed 1 + 99 negatives of Bi-TGCF (Liu et al., CIKM 2020)
      are in ``meta["test_negatives"][domain]`` (columns ``user``, ``item``, ``negatives``,
      index space, one row per test row); the item index then also holds the items that
      occur only as such negatives (no interactions; ``meta["negative_only_items"]``).
      They are kept as shipped, upstream quirks included: a few rows (7 elec, 22 phone)
      list the held-out item itself among the negatives.
    * ``amazon-coldstart-*`` (CDRIB): raw user ids are strings. The ``C`` overlapping
      users (``meta["overlap"]``) keep their number (``"123"``); a user id ``>= C`` names a
      different person in each domain, so it becomes ``"<domain>:<id>"`` (``"game:3000"``).
      ``meta["cold_users"][domain]`` lists the user indices whose held-out (valid/test)
      rows are in that domain: they have no train row there.
    * ``douban-book-music`` (GA-DTCDR): ``rating`` column (1-5) and a ``time`` column that
      is the line number in the file, so :func:`cdgraph.data.split.leave_one_out` holds out the
      *last line* of each user, as GA-DTCDR does (it also takes the line before as valid
      for users with at least 3 ratings; GA-DTCDR has no valid set).
    * ``amazon-food-kitchen`` (LLMCDSR) and ``amazon-art-office`` (URLLM): item features
      ``title`` (and ``attribute`` for art-office) for every item (see
      :meth:`~cdgraph.CrossDomainData.item_text`); a ``time`` column holding each item's
      position in the user's sequence; catalogue items without interactions (3,977 office
      items) are in the item index (``meta["catalogue_only_items"]``), so that they can be
      ranked and drawn as negatives, and their text encoded. The held-out users (valid/test) are new people:
      ``predefined`` trains on their earlier items and holds out their last item (LLMCDSR:
      the last of the line; URLLM: each of the user's two lines' targets) when it is in the
      target domain. A held-out item of the other domain is left out, not trained on: so the
      training part is the same for both targets, and no model trains on an item upstream
      holds out. Raw ids: ASINs and ``"<group>:<id>"`` users (``A``, ``B``, ``overlap``,
      ``valid``, ``test``) for food-kitchen; upstream's integers for art-office.
    """
    s = spec(name)
    root = ensure_files(s.files, root, download=download, dataset=name)
    reader = {"disencdr": _disencdr, "cdrib": _cdrib, "douban": _douban, "llmcdsr": read_llmcdsr,
              "urllm": read_urllm}[s.kind]
    data = reader(s, root)
    data.name = name
    data.meta["protocol"] = dict(s.protocol)
    data.meta["source"] = {k: v for k, v in info(name).items() if k in ("paper", "upstream")}
    log.info("Loaded %r from %s: %r", name, root, data)
    return data


def _read(path: Path, columns: list[str], dataset: str) -> pd.DataFrame:
    """Read a headerless tab-separated file of integer columns."""
    try:
        frame = pd.read_csv(path, sep="\t", header=None, names=columns,
                            usecols=range(len(columns)), dtype=np.int64, engine="c")
    except (ValueError, pd.errors.ParserError) as exc:
        raise ValueError(f"Dataset {dataset!r}: file {str(path)!r} is not {len(columns)} tab-separated "
                         f"integer columns ({columns}): {exc}") from None
    return frame


def _parts(root: Path, folder: str, parts: tuple[str, ...], dataset: str) -> pd.DataFrame:
    frames = []
    for part in parts:
        frame = _read(root / folder / f"{part}.txt", ["user", "item"], dataset)
        frame["part"] = part
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def _disencdr(s: DatasetSpec, root: Path) -> CrossDomainData:
    frames = {d: _parts(root, folder, ("train", "test"), s.name) for d, folder in s.dirs.items()}
    meta: dict = {}
    negatives = {d: _read_negatives(root / path, s.name) for d, path in s.negatives.items()}
    data = CrossDomainData.from_frames(frames, split="part", meta=meta)
    if negatives:
        data.meta["test_negatives"], data.meta["negative_only_items"] = {}, {}
        for domain, (pairs, negs) in negatives.items():
            added = _extend_items(data, domain, negs)
            data.meta["negative_only_items"][domain] = added
            data.meta["test_negatives"][domain] = _negatives_frame(data, domain, pairs, negs)
    return data


def _read_negatives(path: Path, dataset: str) -> tuple[pd.DataFrame, np.ndarray]:
    """Bi-TGCF ``test_neg.txt``: ``(user, pos_item)<TAB>neg<TAB>...`` -> raw pairs, raw negatives."""
    frame = pd.read_csv(path, sep="\t", header=None)
    pairs = frame[0].astype(str).str.extract(r"^\((\d+),\s*(\d+)\)$")
    if pairs.isna().any().any() or frame.shape[1] < 2:
        raise ValueError(f"Dataset {dataset!r}: file {str(path)!r} is not Bi-TGCF's test_neg.txt "
                         f"layout '(user, item)<TAB>neg<TAB>...'.")
    pairs = pairs.astype(np.int64).set_axis(["user", "item"], axis=1)
    return pairs, frame.iloc[:, 1:].to_numpy(np.int64)


def _extend_items(data: CrossDomainData, domain: str, negs: np.ndarray) -> int:
    """Append raw items that occur only as fixed negatives to ``domain``'s item index."""
    ids = data.item_ids[domain]
    extra = np.setdiff1d(np.unique(negs), ids.to_numpy())
    if len(extra):
        data.item_ids[domain] = ids.append(pd.Index(extra, name=ids.name))
    return int(len(extra))


def _negatives_frame(data: CrossDomainData, domain: str, pairs: pd.DataFrame,
                     negs: np.ndarray) -> pd.DataFrame:
    """Fixed negatives of the test rows, in index space."""
    user = data.user_ids.get_indexer(pairs["user"].to_numpy())
    item = data.item_ids[domain].get_indexer(pairs["item"].to_numpy())
    index = pd.DataFrame({"user": user, "item": item})
    test = data.interactions(domain)
    test = test[test["part"].to_numpy() == "test"]
    keep = pd.MultiIndex.from_frame(index).isin(pd.MultiIndex.from_frame(test[["user", "item"]]))
    neg_index = data.item_ids[domain].get_indexer(negs[keep].ravel()).reshape(-1, negs.shape[1])
    out = index[keep].reset_index(drop=True)
    out["negatives"] = list(neg_index.astype(np.int64))
    return out


def _cdrib(s: DatasetSpec, root: Path) -> CrossDomainData:
    overlap = int(s.overlap)
    frames = {}
    for domain, folder in s.dirs.items():
        frame = _parts(root, folder, ("train", "valid", "test"), s.name)
        raw = frame["user"].to_numpy()
        text = raw.astype(str).astype(object)
        frame["user"] = np.where(raw < overlap, text, f"{domain}:" + text)
        frames[domain] = frame
    data = CrossDomainData.from_frames(frames, split="part", meta={"overlap": overlap})
    data.meta["cold_users"] = {}
    for domain in data.domains:
        frame = data.interactions(domain)
        held_out = frame["part"].to_numpy() != "train"
        data.meta["cold_users"][domain] = np.unique(frame["user"].to_numpy()[held_out])
    return data


def _douban(s: DatasetSpec, root: Path) -> CrossDomainData:
    frames = {}
    for domain, folder in s.dirs.items():
        frame = _read(root / folder / "ratings.dat", ["user", "item", "rating"], s.name)
        frame["time"] = np.arange(len(frame), dtype=np.int64)
        frames[domain] = frame
    return CrossDomainData.from_frames(frames, rating="rating", time="time")
