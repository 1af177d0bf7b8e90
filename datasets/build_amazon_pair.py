#!/usr/bin/env python
"""Build a cross-domain pair in the DisenCDR layout from two raw Amazon ratings-only dumps.

Input: two McAuley Amazon "ratings only" CSV files without header, one per category,
e.g. ``ratings_Sports_and_Outdoors.csv`` (2014: ``user,item,rating,timestamp``). The
2018 release writes ``item,user,rating,timestamp``: pass ``--columns item,user,rating,timestamp``.

Recipe (every step vectorised with pandas / numpy):

1. optionally keep ratings ``>= --min-rating`` (implicit feedback);
2. collapse repeated ``(user, item)`` rows of a category, keeping the latest;
3. repeat until nothing changes: keep only the users present in both categories
   (unless ``--keep-unshared``), then iterative k-core per category: drop users and
   items with fewer than ``--k-core`` interactions until every remaining one has k;
4. re-index: users ``0..U-1`` shared by the pair, items ``0..I-1`` per category (both
   in sorted order of their raw ids);
5. leave-one-out by timestamp: each user's latest interaction in a category is its
   test item there (timestamp ties broken at random, ``--seed``), the rest is train.

Output, written into a temporary folder under ``--out`` and then renamed into place::

    <out>/<x>_<y>/train.txt, test.txt   domain x, lines ``user<TAB>item<TAB>1``
    <out>/<y>_<x>/train.txt, test.txt   domain y
    <out>/<x>_<y>/interactions.tsv      (and <y>_<x>/) header ``user item rating timestamp part``
    <out>/<x>_<y>/items.tsv             (and <y>_<x>/) ``item<TAB>raw_item`` for that domain
    <out>/<x>_<y>/users.tsv             (and <y>_<x>/) ``user<TAB>raw_user``
    <out>/<x>_<y>.stats.json            options and counts per step

Example::

    python datasets/build_amazon_pair.py ratings_Sports_and_Outdoors.csv \\
        ratings_Clothing_Shoes_and_Jewelry.csv --names sport cloth --k-core 5 --out data/amazon
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

COLUMNS = ("user", "item", "rating", "timestamp")


def read_ratings(path: str | os.PathLike, columns: Sequence[str] = COLUMNS) -> pd.DataFrame:
    """One raw ratings-only dump as a frame with columns user, item (str), rating, timestamp."""
    if sorted(columns) != sorted(COLUMNS):
        raise ValueError(f"--columns must name each of {COLUMNS} once, got {list(columns)}.")
    try:
        frame = pd.read_csv(path, header=None, names=list(columns), usecols=range(4), engine="c",
                            dtype={"user": str, "item": str, "rating": np.float64, "timestamp": np.int64})
    except (ValueError, pd.errors.ParserError) as exc:
        raise ValueError(f"{os.fspath(path)!r} is not a headerless 'user,item,rating,timestamp' CSV "
                         f"(columns {list(columns)}): {exc}") from None
    bad = frame[["user", "item"]].isna().any(axis=1).to_numpy() | ~np.isfinite(frame["rating"].to_numpy())
    if bad.any():
        row = int(np.argmax(bad))
        raise ValueError(f"{os.fspath(path)!r}, line {row + 1}: missing id or rating "
                         f"({frame.iloc[row].to_dict()}).")
    return frame[list(COLUMNS)]


def encode(frames: dict[str, pd.DataFrame]) -> tuple[dict[str, pd.DataFrame], np.ndarray, dict[str, np.ndarray]]:
    """Integer codes for the raw string ids (users shared by the pair, items per domain),
    so that every later step hashes and sorts integers, not strings."""
    user_codes, users = pd.factorize(np.concatenate([f["user"].to_numpy(dtype=object) for f in frames.values()]))
    bounds = np.cumsum([0] + [len(f) for f in frames.values()])
    coded, items = {}, {}
    for j, (d, f) in enumerate(frames.items()):
        item_codes, items[d] = pd.factorize(f["item"].to_numpy(dtype=object))
        coded[d] = pd.DataFrame({"user": user_codes[bounds[j]:bounds[j + 1]].astype(np.int64),
                                 "item": item_codes.astype(np.int64),
                                 "rating": f["rating"].to_numpy(), "timestamp": f["timestamp"].to_numpy()})
    return coded, np.asarray(users, dtype=object), {d: np.asarray(i, dtype=object) for d, i in items.items()}


def latest_unique(frame: pd.DataFrame) -> pd.DataFrame:
    """Collapse repeated (user, item) rows, keeping the latest (the last line among equal times)."""
    order = np.argsort(frame["timestamp"].to_numpy(), kind="stable")
    key = frame["user"].to_numpy() * np.int64(frame["item"].max() + 1) + frame["item"].to_numpy()
    keep = np.zeros(len(frame), dtype=bool)
    keep[order[~pd.Series(key[order]).duplicated(keep="last").to_numpy()]] = True
    return frame[keep]


def k_core(user: np.ndarray, item: np.ndarray, k: int) -> np.ndarray:
    """Mask of the rows in the k-core: every kept user and item has >= k kept rows.

    ``user`` and ``item`` are integer codes; rows are dropped in rounds until stable.
    """
    keep = np.ones(len(user), dtype=bool)
    if k <= 1:
        return keep
    while True:
        u_count = np.bincount(user[keep], minlength=user.max(initial=0) + 1)
        i_count = np.bincount(item[keep], minlength=item.max(initial=0) + 1)
        ok = keep & (u_count[user] >= k) & (i_count[item] >= k)
        if (ok == keep).all():
            return keep
        keep = ok


def filter_pair(frames: dict[str, pd.DataFrame], k: int, shared_only: bool) -> dict[str, pd.DataFrame]:
    """Shared-user and per-domain k-core filters (on integer codes), repeated until neither
    removes a row."""
    n_users = max(int(f["user"].max()) + 1 for f in frames.values())
    codes = {d: (f["user"].to_numpy(), f["item"].to_numpy()) for d, f in frames.items()}
    keep = {d: np.ones(len(f), dtype=bool) for d, f in frames.items()}
    while True:
        before = sum(int(m.sum()) for m in keep.values())
        if shared_only:
            both = np.logical_and.reduce([np.bincount(codes[d][0][keep[d]], minlength=n_users) > 0
                                          for d in frames])
            keep = {d: keep[d] & both[codes[d][0]] for d in frames}
        for d in frames:
            rows = np.flatnonzero(keep[d])
            core = k_core(codes[d][0][rows], codes[d][1][rows], k)
            keep[d][rows[~core]] = False
        if sum(int(m.sum()) for m in keep.values()) == before:
            return {d: f[keep[d]] for d, f in frames.items()}


def _renumber(codes: np.ndarray, raw: np.ndarray) -> tuple[np.ndarray, pd.Index]:
    """New ids 0..n-1 for the codes in use, in sorted order of their raw ids."""
    used = np.flatnonzero(np.bincount(codes, minlength=len(raw)))
    order = np.argsort(raw[used].astype(str), kind="stable")
    new = np.full(len(raw), -1, dtype=np.int64)
    new[used[order]] = np.arange(len(used))
    return new, pd.Index(raw[used[order]], dtype=object)


def reindex(frames: dict[str, pd.DataFrame], users: np.ndarray, items: dict[str, np.ndarray]
            ) -> tuple[dict[str, pd.DataFrame], pd.Index, dict[str, pd.Index]]:
    """Contiguous 0-based ids: users shared by the pair, items per domain, in sorted raw-id order."""
    new_user, user_ids = _renumber(np.concatenate([f["user"].to_numpy() for f in frames.values()]), users)
    out, item_ids = {}, {}
    for d, f in frames.items():
        new_item, item_ids[d] = _renumber(f["item"].to_numpy(), items[d])
        out[d] = f.assign(user=new_user[f["user"].to_numpy()], item=new_item[f["item"].to_numpy()])
    return out, user_ids, item_ids


def leave_latest_out(frame: pd.DataFrame, seed: int) -> np.ndarray:
    """Boolean mask: each user's latest interaction (ties at random), for users with >= 2 of them."""
    rng = np.random.default_rng(seed)
    user = frame["user"].to_numpy()
    order = np.lexsort((rng.random(len(frame)), frame["timestamp"].to_numpy(), user))
    last = np.r_[user[order][1:] != user[order][:-1], True]
    test = np.zeros(len(frame), dtype=bool)
    test[order[last]] = True
    return test & (np.bincount(user)[user] >= 2)


def build(raw: dict[str, pd.DataFrame], k: int = 5, min_rating: float | None = None,
          shared_only: bool = True, seed: int = 0) -> tuple[dict[str, pd.DataFrame], pd.Index,
                                                            dict[str, pd.Index], dict]:
    """Run the recipe on raw frames (domain -> user, item, rating, timestamp).

    Returns the re-indexed interactions per domain with a ``part`` column
    (``train``/``test``), the raw user ids, the raw item ids per domain and the stats.
    """
    stats: dict = {"options": {"k_core": k, "min_rating": min_rating, "shared_only": shared_only,
                               "seed": seed}, "steps": {}}

    def count(step: str, frames: dict[str, pd.DataFrame]) -> None:
        stats["steps"][step] = {d: {"interactions": len(f), "users": int(f["user"].nunique()),
                                    "items": int(f["item"].nunique())} for d, f in frames.items()}

    frames, users, items = encode(raw)
    count("raw", frames)
    if min_rating is not None:
        frames = {d: f[f["rating"].to_numpy() >= min_rating] for d, f in frames.items()}
        count("min_rating", frames)
    frames = {d: latest_unique(f) for d, f in frames.items()}
    count("deduplicated", frames)
    if any(len(f) == 0 for f in frames.values()):
        raise ValueError(f"A category has no ratings left ({stats['steps']}): lower --min-rating.")
    frames = filter_pair(frames, k, shared_only)
    count("filtered", frames)
    if any(len(f) == 0 for f in frames.values()):
        raise ValueError(f"Nothing is left after filtering ({stats['steps']['filtered']}): lower "
                         f"--k-core or --min-rating.")
    frames, user_ids, item_ids = reindex(frames, users, items)
    for j, (d, f) in enumerate(frames.items()):
        test = leave_latest_out(f, seed + j)
        frames[d] = f.assign(part=np.where(test, "test", "train")).sort_values(
            ["user", "timestamp", "item"], kind="stable", ignore_index=True)
    stats["domains"] = {}
    for d, f in frames.items():
        train, test = f[f["part"] == "train"], f[f["part"] == "test"]
        stats["domains"][d] = {
            "users": int(f["user"].nunique()), "items": len(item_ids[d]), "train": len(train),
            "test": len(test), "density": len(f) / max(1, f["user"].nunique() * len(item_ids[d])),
            "test_items_unseen_in_train": int((~test["item"].isin(train["item"])).sum())}
    present = [np.bincount(f["user"].to_numpy(), minlength=len(user_ids)) > 0 for f in frames.values()]
    stats["users"] = len(user_ids)
    stats["shared_users"] = int(np.logical_and.reduce(present).sum())
    return frames, user_ids, item_ids, stats


def write(out: str | os.PathLike, frames: dict[str, pd.DataFrame], user_ids: pd.Index,
          item_ids: dict[str, pd.Index], stats: dict, overwrite: bool = False) -> list[Path]:
    """Write the DisenCDR layout under ``out`` via a temporary folder renamed into place."""
    x, y = list(frames)
    out = Path(out)
    folders = {x: f"{x}_{y}", y: f"{y}_{x}"}
    targets = [out / f for f in folders.values()] + [out / f"{x}_{y}.stats.json"]
    existing = [t for t in targets if t.exists()]
    if existing and not overwrite:
        raise FileExistsError(f"{[str(t) for t in existing]} already exist(s); pass --overwrite to replace.")
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".build-", dir=out))
    try:
        users = pd.DataFrame({"user": np.arange(len(user_ids)), "raw_user": user_ids})
        for d, folder in folders.items():
            f, path = frames[d], tmp / folder
            path.mkdir()
            for part in ("train", "test"):
                rows = f.loc[f["part"] == part, ["user", "item"]].assign(label=1)
                rows.to_csv(path / f"{part}.txt", sep="\t", header=False, index=False)
            f[["user", "item", "rating", "timestamp", "part"]].to_csv(path / "interactions.tsv", sep="\t",
                                                                      index=False)
            pd.DataFrame({"item": np.arange(len(item_ids[d])), "raw_item": item_ids[d]}).to_csv(
                path / "items.tsv", sep="\t", index=False)
            users.to_csv(path / "users.tsv", sep="\t", index=False)
        (tmp / targets[-1].name).write_text(json.dumps(stats, indent=2) + "\n")
        old = tmp / ".old"
        old.mkdir()
        for target in targets:
            if target.exists():
                os.replace(target, old / target.name)
            os.replace(tmp / target.name, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return targets


def default_name(path: str | os.PathLike) -> str:
    """``ratings_Sports_and_Outdoors.csv`` -> ``sports`` (the first word of the category)."""
    stem = Path(path).name.split(".")[0]
    return stem.removeprefix("ratings_").split("_")[0].lower()


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="See datasets/README.md for the recipe and how to load the result.")
    parser.add_argument("raw_x", help="ratings-only CSV of the first category (domain x)")
    parser.add_argument("raw_y", help="ratings-only CSV of the second category (domain y)")
    parser.add_argument("--out", required=True, help="folder receiving <x>_<y>/ and <y>_<x>/")
    parser.add_argument("--names", nargs=2, metavar=("X", "Y"),
                        help="domain names (default: first word of the file names, e.g. sports)")
    parser.add_argument("--k-core", type=int, default=5,
                        help="minimum interactions per user and per item in each domain (default 5; "
                             "0 or 1 disables; >= 2 guarantees every user a test item)")
    parser.add_argument("--min-rating", type=float, default=None,
                        help="keep only ratings >= this (implicit feedback); default keeps all")
    parser.add_argument("--keep-unshared", action="store_true",
                        help="keep users found in one category only (default: only users of both)")
    parser.add_argument("--columns", default=",".join(COLUMNS),
                        help="column order of the raw files (2018 release: item,user,rating,timestamp)")
    parser.add_argument("--seed", type=int, default=0, help="breaks timestamp ties (default 0)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output")
    args = parser.parse_args(argv)
    if args.k_core < 0:
        parser.error("--k-core must be >= 0")
    names = args.names or [default_name(args.raw_x), default_name(args.raw_y)]
    if names[0] == names[1] or any(not n or "_" in n or "/" in n for n in names):
        parser.error(f"domain names must differ and contain no '_' or '/', got {names}; pass --names")
    args.names = names
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    columns = args.columns.split(",")
    raw = {args.names[0]: read_ratings(args.raw_x, columns), args.names[1]: read_ratings(args.raw_y, columns)}
    frames, user_ids, item_ids, stats = build(raw, k=args.k_core, min_rating=args.min_rating,
                                              shared_only=not args.keep_unshared, seed=args.seed)
    stats["inputs"] = {args.names[0]: os.fspath(args.raw_x), args.names[1]: os.fspath(args.raw_y)}
    targets = write(args.out, frames, user_ids, item_ids, stats, overwrite=args.overwrite)
    print(f"{len(user_ids)} users ({stats['shared_users']} in both domains)")
    for d, s in stats["domains"].items():
        print(f"  {d}: {s['items']} items, {s['train']} train / {s['test']} test interactions, "
              f"density {s['density']:.2e}")
    print("wrote " + ", ".join(str(t) for t in targets))
    return 0


if __name__ == "__main__":
    sys.exit(main())
