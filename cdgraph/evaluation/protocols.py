"""Evaluation of any scoring model on a split's held-out part, by protocol."""
from __future__ import annotations

import warnings
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from cdgraph.evaluation.full import check_ks, full_ranking
from cdgraph.evaluation.negatives import sample_negatives
from cdgraph.evaluation.sampled import classification, sampled_ranking
from cdgraph.evaluation.stats import summarize
from cdgraph.data.checks import check_number
from cdgraph.data.split import Split

PROTOCOLS = ("full", "sampled", "classification")

#: Metrics each protocol reports at every cut-off K, and those it reports once.
_AT_K = {"full": ("Recall", "NDCG", "HR", "Precision", "MRR"), "sampled": ("HR", "NDCG"), "classification": ()}
_ONCE = {"full": (), "sampled": ("MRR",), "classification": ("accuracy", "precision", "recall", "f1", "auc")}


def metric_names(protocol: str, k: int | Sequence[int] = (5, 10, 20)) -> list[str]:
    """The metrics :func:`evaluate_scores` reports for ``protocol`` at the cut-offs ``k``
    (before the ``cold/`` and ``warm/`` copies of a cold-start split); lets a caller check a
    metric name before anything is trained."""
    if protocol not in PROTOCOLS:
        raise ValueError(f"Unknown protocol {protocol!r}; use one of {PROTOCOLS}.")
    ks = check_ks(k)
    return [*_ONCE[protocol], *(f"{m}@{c}" for m in _AT_K[protocol] for c in ks)]


def check_metric(metric: str, protocol: str, k: int | Sequence[int] | None = None,
                 groups: bool = False) -> None:
    """Raise a ValueError unless ``protocol`` reports ``metric`` (at one of the cut-offs ``k``;
    with ``k=None`` at any cut-off, as model selection adds the metric's own). With
    ``groups`` (a split with cold users) the ``cold/`` and ``warm/`` copies count too."""
    asked = metric
    group, _, plain = metric.rpartition("/")
    if group:
        if group not in ("cold", "warm") or not groups:
            raise ValueError(f"Metric {metric!r}: only a split with cold users reports 'cold/' and "
                             f"'warm/' metrics{'' if groups else ', and this one has none'}.")
        metric = plain
    at = metric.rsplit("@", 1)
    ks = k if k is not None else ([int(at[1])] if len(at) == 2 and at[1].isdigit() and int(at[1]) > 0 else 10)
    names = metric_names(protocol, ks)
    if metric not in names:
        shown = names if k is not None else metric_names(protocol, 10)
        raise ValueError(f"Metric {asked!r} is not reported by the {protocol!r} protocol"
                         f"{'' if k is None else f' at k={list(check_ks(k))}'}; use one of {shown}"
                         f"{'' if k is not None else ' (any cut-off K for the @K ones)'}.")


def evaluate_scores(score_users: Callable[[Tensor], Tensor],
                    score_pairs: Callable[[Tensor, Tensor], Tensor], split: Split, on: str = "test",
                    protocol: str = "full", k: int | Sequence[int] = (5, 10, 20),
                    num_negatives: int = 999, seed: int = 0, negatives: Any = "sampled",
                    chunk_size: int = 1024, per_row: bool = False,
                    apply_sigmoid: bool = True) -> dict[str, float] | pd.DataFrame:
    """Evaluate scoring functions on ``split``'s ``on`` part ("valid" or "test").

    Args:
        score_users: ``users [n] -> scores [n, num_items]`` of the target domain.
        score_pairs: ``(users [n], items [n, m]) -> scores [n, m]``.
        protocol (str): ``"full"`` (all target items, train items masked: Recall, NDCG,
            HR, Precision, MRR at each K), ``"sampled"`` (the held-out item against
            ``num_negatives`` negatives drawn with ``seed`` from the target's train items
            the user has not interacted with, or the dataset's fixed negatives with
            ``negatives="fixed"``, or a given ``[rows, m]`` array with -1 padding: HR, NDCG at each K and MRR) or ``"classification"``
            (accuracy, precision, recall, F1, AUC against one negative per positive).
        per_row (bool): Return the per-user (full) or per-interaction (sampled) table
            instead of the means.

    Users that a cold-start split held out are also reported apart: keys
    ``"cold/<metric>"`` and ``"warm/<metric>"``.
    """
    if protocol not in PROTOCOLS:
        raise ValueError(f"Unknown protocol {protocol!r}; use one of {PROTOCOLS}.")
    if on not in ("valid", "test"):
        raise ValueError(f"on must be 'valid' or 'test', got {on!r}.")
    target = split.target
    held = split.part(on)
    if len(held) == 0:
        raise ValueError(f"The {on} part of this {split.kind} split of {target!r} is empty; "
                         f"nothing to evaluate.")
    num_items = split.data.num_items(target)
    train = split.train[target]
    ex_u = torch.from_numpy(train["user"].to_numpy(np.int64, copy=True))
    ex_i = torch.from_numpy(train["item"].to_numpy(np.int64, copy=True))
    users = torch.from_numpy(held["user"].to_numpy(np.int64, copy=True))
    items = torch.from_numpy(held["item"].to_numpy(np.int64, copy=True))
    ks = (k,) if isinstance(k, int) else tuple(k)
    candidates = torch.from_numpy(np.unique(train["item"].to_numpy(np.int64, copy=True)))
    if protocol == "classification":
        return classification(score_pairs, users, items, num_items, exclude_users=ex_u,
                              exclude_items=ex_i, candidates=candidates, seed=seed,
                              apply_sigmoid=apply_sigmoid, chunk_size=chunk_size)
    if protocol == "full":
        table = full_ranking(score_users, num_items, users, items, ex_u, ex_i, ks=ks,
                             chunk_size=chunk_size)
        row_users = table.index.to_numpy()
    else:
        fixed = None
        if not isinstance(negatives, str):
            fixed = torch.as_tensor(np.asarray(negatives), dtype=torch.long)
            if fixed.size(0) != len(held):
                raise ValueError(f"negatives has {fixed.size(0)} rows; the {on} part has {len(held)}.")
        elif negatives == "fixed":
            if on != "test" or split.test_negatives is None:
                raise ValueError("negatives='fixed' needs a dataset that ships fixed test negatives "
                                 "(amazon-elec-phone) and on='test'.")
            fixed = torch.from_numpy(split.test_negatives)
        elif negatives != "sampled":
            raise ValueError(f"negatives must be 'sampled' or 'fixed', got {negatives!r}.")
        if fixed is None:
            _warn_if_fewer(split, on, num_negatives)
        table = sampled_ranking(score_pairs, users, items, num_items, negatives=fixed,
                                num_negatives=num_negatives, exclude_users=ex_u, exclude_items=ex_i,
                                candidates=candidates, ks=ks, seed=seed, chunk_size=chunk_size,
                                allow_fewer=True)
        row_users = users.numpy()
    if per_row:
        table = table.copy()
        table["user"] = row_users
        return table
    groups = None
    if len(split.cold_users):
        cold = np.isin(row_users, split.cold_users)
        groups = {"cold": cold, "warm": ~cold}
    return summarize(table, groups)


def draw_negatives(split: Split, on: str, num_negatives: int, seed: int = 0) -> np.ndarray:
    """Negatives for the sampled protocol on ``split``'s ``on`` part, drawn once (seeded)
    from the target's train items the user has not interacted with; ``-1`` pads rows
    of users with fewer valid candidates."""
    held, train = split.part(on), split.train[split.target]
    ex_u = torch.from_numpy(train["user"].to_numpy(np.int64, copy=True))
    ex_i = torch.from_numpy(train["item"].to_numpy(np.int64, copy=True))
    return sample_negatives(torch.from_numpy(held["user"].to_numpy(np.int64, copy=True)),
                            torch.from_numpy(held["item"].to_numpy(np.int64, copy=True)),
                            split.data.num_items(split.target), num_negatives, ex_u, ex_i,
                            candidates=torch.from_numpy(np.unique(train["item"].to_numpy(np.int64, copy=True))),
                            seed=seed, allow_fewer=True).numpy()


def new_item_negatives(split: Split, on: str = "test", num_negatives: int = 999, seed: int = 0) -> np.ndarray:
    """Negatives that rank each held-out new item of a :func:`~cdgraph.data.cold_items` split
    among the other new items of its part (``info["valid_items"]`` or ``info["test_items"]``),
    never one the user holds out there; drawn once (seeded), ``-1`` pads. Pass them as
    ``evaluate(..., protocol="sampled", negatives=...)``.

    The default sampled protocol draws negatives from the *trained* items, so on such a split
    a model that puts every new item above the trained ones wins whichever new item it ranks
    first; these negatives measure which new item.

    Raises:
        ValueError: the split has no new items of that part (not made by ``cold_items``).
    """
    key = f"{on}_items"
    if key not in split.info:
        raise ValueError(f"new_item_negatives needs a split made by cdgraph.data.cold_items (its info holds "
                         f"{key!r}); this {split.kind} split has {sorted(split.info)}.")
    held = split.part(on)
    users = torch.from_numpy(held["user"].to_numpy(np.int64, copy=True))
    items = torch.from_numpy(held["item"].to_numpy(np.int64, copy=True))
    return sample_negatives(users, items, split.data.num_items(split.target), num_negatives, users, items,
                            candidates=torch.from_numpy(np.asarray(split.info[key], np.int64)),
                            seed=seed, allow_fewer=True).numpy()


def negatives_available(split: Split, on: str = "test") -> np.ndarray:
    """Per held-out interaction of ``split``'s ``on`` part, how many negatives the sampled
    protocol can draw: the target's training items that are neither the user's own
    training items nor the held-out item."""
    held, train = split.part(on), split.train[split.target]
    n = split.data.num_items(split.target)
    candidates = np.unique(train["item"].to_numpy(np.int64))
    seen = np.unique(train["user"].to_numpy(np.int64) * n + train["item"].to_numpy(np.int64))
    per_user = np.bincount(seen // n, minlength=split.data.num_users)
    users, items = held["user"].to_numpy(np.int64), held["item"].to_numpy(np.int64)
    own = np.isin(items, candidates) & ~np.isin(users * n + items, seen)
    return len(candidates) - per_user[users] - own


def _warn_if_fewer(split: Split, on: str, num_negatives: int) -> None:
    avail = negatives_available(split, on)
    short = avail < num_negatives
    if short.any():
        warnings.warn(f"{int(short.sum())} of {len(avail)} {on} interactions of the target {split.target!r} "
                      f"are ranked against fewer than {num_negatives} sampled negatives (as few as "
                      f"{int(avail.min())}): of the target's "
                      f"{len(np.unique(split.train[split.target]['item']))} items with training "
                      f"interactions, those users' own training items and the held-out item are "
                      f"not negatives. Their metrics are higher than under a full 1 + {num_negatives} "
                      f"protocol; lower num_negatives, or use protocol='full'.", stacklevel=3)


def valid_protocol(split: Split, protocol: str | None = None,
                   num_negatives: int | None = None) -> tuple[str, int]:
    """The validation protocol and negative count: the given ones, else the dataset's
    (``"sampled"`` with its ``num_negatives`` when its protocol samples, else ``"full"``)."""
    own = split.data.meta.get("protocol", {})
    num_negatives = own.get("num_negatives", 999) if num_negatives is None else num_negatives
    check_number("validation", "num_negatives", num_negatives, integer=True, positive=True)
    return protocol or ("sampled" if "num_negatives" in own else "full"), num_negatives


def metric_cutoffs(metric: str) -> list[int]:
    """The cut-off of a metric name (``[10]`` for ``"NDCG@10"``, ``[]`` for ``"MRR"``)."""
    return [int(metric.rsplit("@", 1)[1])] if "@" in metric and metric.rsplit("@", 1)[1].isdigit() else []
