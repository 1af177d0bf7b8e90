"""Splits that make training data scarce where item text and transfer should help.

* :func:`cold_items`: a share of the target's items loses every training interaction; only
  side information (titles, embeddings) or content-free popularity can rank them.
* :func:`thin_bridge`: only a share of the users shared by the target and a source keep their
  source interactions, to measure transfer when few users bridge the domains. It thins any
  :class:`~cdgraph.data.split.Split`; :func:`thin_bridge_split` is the same as a split function.

Both are seeded and vectorised, and registered in :data:`cdgraph.data.split.SPLITS`
(``"cold_items"``, ``"thin_bridge"``) when :mod:`cdgraph.data` is imported.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from cdgraph.data.interactions import CrossDomainData
from cdgraph.data.split import SPLITS, Split, as_fraction, from_labels, seeded_rng

__all__ = ["cold_items", "thin_bridge", "thin_bridge_split"]

_THIN_STREAM = 0x7468696E  # "thin": thinning draws from its own stream of the split's seed


def cold_items(data: CrossDomainData, target: str, fraction: float = 0.2, seed: int = 0) -> Split:
    """Hold out every interaction of a ``fraction`` of the target's items.

    ``round(fraction * n)`` items are drawn (seeded) among the ``n`` target items that have
    interactions (items listed in the index without any interaction cannot be held out).
    They are split in two halves by item: every interaction with the first half forms
    valid, every interaction with the second half forms test, so validation and test
    never share an item. The cold items stay in the item index, so they can be
    recommended, but have no training interaction: only their side information (see
    :meth:`~cdgraph.data.interactions.CrossDomainData.item_text`) can place them. All other
    target interactions, and the other domains, go to train; a split column is ignored.

    Evaluated users: every user with an interaction with a cold item (valid: with a
    validation item, test: with a test item), ranking that item. Most keep other target
    interactions in train (warm users); those whose target interactions all touch cold
    items are listed in ``cold_users``. ``info`` holds the ``cold_items`` and their
    ``valid_items`` / ``test_items`` halves (item indices).

    Raises:
        ValueError: ``fraction`` outside (0, 1), fewer than 2 cold items (one for validation,
            one for test), or no item left warm.
    """
    fraction = as_fraction("fraction", fraction)
    if not 0 < fraction < 1:
        raise ValueError(f"cold_items on {target!r}: fraction must be in (0, 1), got {fraction}.")
    frame = data.interactions(target)
    users, items = frame["user"].to_numpy(), frame["item"].to_numpy()
    candidates = np.unique(items)
    n_cold = int(round(fraction * len(candidates)))
    if n_cold < 2:
        raise ValueError(f"cold_items on {target!r}: fraction={fraction} of the {len(candidates)} items with "
                         f"interactions makes {n_cold} cold item(s), and cold_items needs at least 2 (half "
                         f"for validation, half for test); raise the fraction.")
    cold = seeded_rng(seed).permutation(candidates)[:n_cold]
    valid_items, test_items = np.sort(cold[:n_cold // 2]), np.sort(cold[n_cold // 2:])
    label = np.zeros(len(items), np.int8)
    label[np.isin(items, valid_items)] = 1
    label[np.isin(items, test_items)] = 2
    trained = np.unique(users[label == 0])
    cold_users = np.setdiff1d(np.unique(users[label > 0]), trained)
    # valid and test each hold at least one item with interactions; only train can come out empty
    fixes = {"train": f"fraction={fraction} makes all {len(candidates)} {target!r} items with interactions "
                      f"cold and leaves no training interaction; use a smaller fraction"}
    return from_labels(data, target, label, "cold_items", fixes, cold=cold_users, seed=seed,
                       fraction=fraction, cold_items=np.sort(cold), valid_items=valid_items,
                       test_items=test_items)


def thin_bridge(split: Split, keep: float = 0.1, domain: str | None = None, seed: int = 0) -> Split:
    """Keep the ``domain`` training interactions of only a ``keep`` share of the shared users.

    The bridge of the training graph is its shared users: users with training interactions
    both in the target and in ``domain``. ``round(keep * n_shared)`` of them are drawn
    (seeded) and keep their ``domain`` history; every other shared user loses all of its
    ``domain`` training interactions and becomes a target-only user. Nothing else changes:
    users without target training interactions (``domain``-only users, and cold users whose
    target interactions are all held out, who need their source history to be ranked at
    all) keep their ``domain`` history, and the target's train, valid and test parts, the
    cold users and any fixed negatives are those of ``split``. Dropping whole histories,
    rather than a share of every user's interactions, is what "few shared users" means, and
    it keeps each remaining bridge user as informative as before.

    Args:
        split (Split): Any split (of any split function, thinned already or not).
        keep (float): Share of the shared users kept, in (0, 1].
        domain (str, optional): The domain thinned, a source of ``split``; defaults to the
            source when there is only one.
        seed (int): Seed of the draw (its own stream: the same seed as the split's draws
            other users).

    Returns:
        Split: the same data and held-out parts; ``kind`` gains ``"+thin_bridge"`` and
        ``info["thin_bridge"]`` records the domain, keep, seed and the shared and kept users.

    Raises:
        ValueError: ``keep`` outside (0, 1], ``domain`` is the target or unknown (or not given
            while there are several sources), no shared user, or no shared user kept.
    """
    if not isinstance(split, Split):
        raise TypeError(f"thin_bridge thins a Split (e.g. leave_one_out(data, target)), got "
                        f"{type(split).__name__}; use thin_bridge_split(data, target, ...) for data.")
    keep = as_fraction("keep", keep)
    if not 0 < keep <= 1:
        raise ValueError(f"thin_bridge: keep must be in (0, 1], got {keep}.")
    domain = _thinned_domain(split, domain)
    source = split.train[domain]
    source_users = source["user"].to_numpy()
    shared = np.intersect1d(np.unique(source_users), split.train[split.target]["user"].to_numpy())
    if not len(shared):
        raise ValueError(f"thin_bridge: no user has training interactions in both {split.target!r} and "
                         f"{domain!r}, so there is no bridge to thin; use the split as it is.")
    n_keep = int(round(keep * len(shared)))
    if n_keep == 0:
        raise ValueError(f"thin_bridge: keep={keep} of the {len(shared)} users shared by {split.target!r} "
                         f"and {domain!r} keeps none; use keep >= {0.5 / len(shared):.2g}.")
    kept = np.sort(_thin_rng(seed).permutation(shared)[:n_keep])
    dropped = np.setdiff1d(shared, kept, assume_unique=True)
    train = dict(split.train)
    train[domain] = source[~np.isin(source_users, dropped)].reset_index(drop=True)
    info = dict(split.info)
    info["thin_bridge"] = {"domain": domain, "keep": keep, "seed": seed, "shared": len(shared),
                           "kept_users": kept}
    return Split(split.data, split.target, train, split.valid, split.test, cold_users=split.cold_users,
                 kind=f"{split.kind}+thin_bridge", test_negatives=split.test_negatives, info=info)


def thin_bridge_split(data: CrossDomainData, target: str, keep: float = 0.1,
                      base: str = "leave_one_out", domain: str | None = None, seed: int = 0,
                      **options: Any) -> Split:
    """The split ``base`` (a name in ``SPLITS``, with ``options``) of ``target``, its bridge then
    thinned by :func:`thin_bridge`; registered as ``SPLITS["thin_bridge"]``.

    >>> thin_bridge_split(data, "music", keep=0.1, base="cold_items", fraction=0.3)  # doctest: +SKIP
    """
    if str(base).strip().lower() == "thin_bridge":
        raise ValueError("thin_bridge_split: base must be another split (e.g. 'leave_one_out'); thin a "
                         "thinned split with thin_bridge(split, ...) instead.")
    return thin_bridge(SPLITS.get(base)(data, target, seed=seed, **options), keep, domain, seed)


def _thinned_domain(split: Split, domain: str | None) -> str:
    if domain is None:
        if len(split.sources) != 1:
            raise ValueError(f"thin_bridge: the split has sources {split.sources}; name the one to thin "
                             f"with domain=.")
        return split.sources[0]
    split.data.check_domain(domain)
    if domain == split.target:
        raise ValueError(f"thin_bridge: domain={domain!r} is the target; thin a source ({split.sources}). "
                         f"To hide the target interactions of shared users use cold_start.")
    return domain


def _thin_rng(seed: Any) -> np.random.Generator:
    """The thinning stream of ``seed`` (None: fresh entropy), checked as split seeds are."""
    seeded_rng(seed)
    if isinstance(seed, (int, np.integer)):
        return np.random.default_rng([_THIN_STREAM, int(seed)])
    return np.random.default_rng(seed)


SPLITS.add("cold_items", cold_items)
SPLITS.add("thin_bridge", thin_bridge_split)
