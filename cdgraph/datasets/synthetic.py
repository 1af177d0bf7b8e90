"""Seeded synthetic cross-domain data with a planted shared user preference."""
from __future__ import annotations

import logging
from typing import Sequence

import numpy as np
import pandas as pd

from cdgraph.data.interactions import CrossDomainData

log = logging.getLogger(__name__)

__all__ = ["synthetic"]


def synthetic(num_users: int = 1000, items_per_domain: int | Sequence[int] = 500,
              interactions_per_domain: int | Sequence[int] = 10_000,
              domains: Sequence[str] = ("a", "b"), shared_fraction: float = 0.5,
              num_topics: int = 16, concentration: float = 0.1, popularity_exponent: float = 1.0,
              activity_exponent: float = 0.5, noise: float = 0.1, min_interactions: int = 3,
              seed: int = 0) -> CrossDomainData:
    r"""Interactions drawn from a topic model whose user preferences are shared across domains.

    Each user ``u`` has one topic mixture :math:`\theta_u \sim \mathrm{Dirichlet}(\alpha)`
    used in *every* domain; each item ``i`` of domain ``d`` has one topic :math:`t_i` and a
    power-law popularity :math:`w_i \propto \mathrm{rank}^{-s}`. An interaction of ``u`` in
    ``d`` picks an item with

    .. math::
        p(i \mid u, d) = (1 - \epsilon)\, \theta_{u, t_i} \frac{w_i}{\sum_{j: t_j = t_i} w_j}
        + \epsilon \frac{w_i}{\sum_j w_j},

    so a user's source-domain items reveal :math:`\theta_u`, which predicts their target
    items: a cross-domain model should beat a target-only one on shared users, and more so
    with a small ``concentration`` and ``noise``. User activity is a power law as well.

    Users ``0 .. round(shared_fraction * num_users) - 1`` are active in every domain; the
    others are split round-robin into single-domain users. Every active user gets at least
    ``min_interactions`` distinct items per domain and every domain exactly
    ``interactions_per_domain`` distinct ``(user, item)`` pairs. The item index of a domain
    is its whole catalogue ``0 .. items - 1`` (unpopular items may have no interaction).
    Everything is vectorised (no loop over interactions); 10M interactions take seconds.

    Args:
        num_users (int): Users in total.
        items_per_domain (int or list[int]): Catalogue size of each domain.
        interactions_per_domain (int or list[int]): Distinct interactions of each domain.
        domains (list[str]): Domain names (two or more).
        shared_fraction (float): Share of users active in all domains, in (0, 1].
        num_topics (int): Latent topics :math:`K`.
        concentration (float): Dirichlet :math:`\alpha`; small = focused users, strong signal.
        popularity_exponent (float): :math:`s` of the item popularity power law.
        activity_exponent (float): Exponent of the user activity power law.
        noise (float): :math:`\epsilon`, share of interactions drawn by popularity alone.
        min_interactions (int): Interactions each active user has in each of their domains.
        seed (int): Seed; the same arguments give the same data.

    Returns:
        CrossDomainData: named ``"synthetic"``; ``meta["synthetic"]`` holds the arguments
        and ``meta["protocol"]`` suggests leave-one-out with 99 sampled negatives.
    """
    domains = list(domains)
    n_dom = len(domains)
    items = _per_domain(items_per_domain, domains, "items_per_domain")
    counts = _per_domain(interactions_per_domain, domains, "interactions_per_domain")
    if not 0 < shared_fraction <= 1:
        raise ValueError(f"shared_fraction must be in (0, 1] (shared users carry the transfer), "
                         f"got {shared_fraction}.")
    if not 0 <= noise <= 1 or concentration <= 0 or num_topics < 1 or min_interactions < 1:
        raise ValueError("synthetic needs 0 <= noise <= 1, concentration > 0, num_topics >= 1 and "
                         "min_interactions >= 1.")
    rng = np.random.default_rng(seed)
    n_shared = max(1, int(round(shared_fraction * num_users)))
    home = np.full(num_users, -1, np.int64)  # -1: active in every domain
    home[n_shared:] = np.arange(num_users - n_shared) % n_dom
    theta_cdf = _row_cdf(rng.dirichlet(np.full(num_topics, concentration), size=num_users))
    activity = rng.permutation(num_users).astype(np.float64) + 1.0
    activity **= -activity_exponent

    frames = {}
    for d, domain in enumerate(domains):
        users = np.flatnonzero((home == -1) | (home == d))
        need = min_interactions * len(users)
        if counts[d] < need or counts[d] > len(users) * items[d] // 2:
            raise ValueError(f"Domain {domain!r}: {counts[d]} interactions for {len(users)} users and "
                             f"{items[d]} items is not feasible; ask for between {need} "
                             f"(min_interactions per user) and {len(users) * items[d] // 2}.")
        per_user = _allocate(rng, activity[users], counts[d], min_interactions, items[d] // 2)
        user = np.repeat(users, per_user)
        item = _sample_items(rng, user, theta_cdf, items[d], num_topics, popularity_exponent, noise)
        order = np.argsort(user * np.int64(items[d]) + item, kind="stable")
        frames[domain] = pd.DataFrame({"user": user[order], "item": item[order]})
        log.info("synthetic: domain %r, %d users, %d items, %d interactions.",
                 domain, len(users), items[d], len(user))
    meta = {"synthetic": dict(num_users=num_users, items_per_domain=items, num_topics=num_topics,
                              interactions_per_domain=counts, shared_fraction=shared_fraction,
                              concentration=concentration, popularity_exponent=popularity_exponent,
                              activity_exponent=activity_exponent, noise=noise, seed=seed),
            "protocol": {"split": "leave_one_out", "num_negatives": 99, "metrics": ["HR@10", "NDCG@10"]}}
    item_ids = {domain: pd.RangeIndex(items[d], name="item") for d, domain in enumerate(domains)}
    return CrossDomainData(frames, pd.RangeIndex(num_users, name="user"), item_ids,
                           name="synthetic", meta=meta)


def _per_domain(value: int | Sequence[int], domains: list[str], label: str) -> list[int]:
    if len(domains) < 2 or len(set(domains)) != len(domains):
        raise ValueError(f"synthetic needs two or more distinct domain names, got {domains}.")
    values = [int(value)] * len(domains) if np.ndim(value) == 0 else [int(v) for v in value]
    if len(values) != len(domains) or min(values) < 1:
        raise ValueError(f"{label} must be a positive int or one per domain {domains}, got {value!r}.")
    return values


def _row_cdf(probs: np.ndarray) -> np.ndarray:
    """Row-wise CDFs laid end to end: row ``r`` spans ``(r, r + 1]``, so one sorted array
    serves every row (sample row ``r`` with ``searchsorted(cdf, r + U(0, 1))``)."""
    cdf = np.cumsum(probs, axis=1)
    cdf /= cdf[:, -1:]
    cdf[:, -1] = 1.0
    return (cdf + np.arange(len(probs))[:, None]).ravel()


def _draw(rng: np.random.Generator, cdf: np.ndarray, rows: np.ndarray, width: int) -> np.ndarray:
    """Column drawn from each row's distribution in a :func:`_row_cdf` array of that width."""
    flat = np.searchsorted(cdf, rows + rng.random(len(rows)), side="right")
    return np.clip(flat - rows * width, 0, width - 1)


def _allocate(rng: np.random.Generator, weight: np.ndarray, total: int, low: int, high: int) -> np.ndarray:
    """Per-user counts in ``[low, high]`` summing to ``total``, proportional to ``weight`` above ``low``."""
    counts = np.full(len(weight), low, np.int64)
    left = total - counts.sum()
    while left > 0:
        room = counts < high
        p = np.where(room, weight, 0.0)
        counts += np.minimum(rng.multinomial(left, p / p.sum()), high - counts)
        left = total - counts.sum()
    return counts


def _sample_items(rng: np.random.Generator, user: np.ndarray, theta_cdf: np.ndarray, n_items: int,
                  n_topics: int, exponent: float, noise: float) -> np.ndarray:
    """One item per row of ``user`` from the planted model, with distinct (user, item) pairs."""
    topic_of = rng.permutation(np.arange(n_items) % n_topics)  # every topic has items
    popularity = (rng.permutation(n_items) + 1.0) ** -exponent
    by_topic = np.argsort(topic_of, kind="stable")
    per_topic = np.bincount(topic_of, minlength=n_topics)
    start = np.r_[0, np.cumsum(per_topic)[:-1]]
    within = np.cumsum(popularity[by_topic])
    within -= np.repeat(within[start] - popularity[by_topic][start], per_topic)
    totals = within[start + per_topic - 1]
    topic_cdf = within / np.repeat(totals, per_topic) + np.repeat(np.arange(n_topics), per_topic)
    topic_cdf[start + per_topic - 1] = np.arange(1, n_topics + 1)
    global_cdf = np.cumsum(popularity) / popularity.sum()

    def draw(rows: np.ndarray) -> np.ndarray:
        topic = _draw(rng, theta_cdf, user[rows], n_topics)
        pos = np.searchsorted(topic_cdf, topic + rng.random(len(rows)), side="right")
        pick = by_topic[np.clip(pos, start[topic], start[topic] + per_topic[topic] - 1)]
        flat = rng.random(len(rows)) < noise
        pick[flat] = np.minimum(np.searchsorted(global_cdf, rng.random(int(flat.sum()))), n_items - 1)
        return pick

    item = draw(np.arange(len(user)))
    taken, first = np.unique(user * np.int64(n_items) + item, return_index=True)
    todo = np.setdiff1d(np.arange(len(user)), first, assume_unique=True)
    for _ in range(100):  # redraw the rows that repeat a (user, item) pair
        if not len(todo):
            return item
        pick = draw(todo)
        key = user[todo] * np.int64(n_items) + pick
        _, once = np.unique(key, return_index=True)
        ok = np.zeros(len(todo), bool)
        ok[once] = True
        pos = np.minimum(np.searchsorted(taken, key), len(taken) - 1)
        ok &= taken[pos] != key
        item[todo[ok]] = pick[ok]
        new = np.sort(key[ok])
        taken = np.insert(taken, np.searchsorted(taken, new), new)
        todo = todo[~ok]
    return _fill_unused(user, item, todo, n_items) if len(todo) else item


def _fill_unused(user: np.ndarray, item: np.ndarray, todo: np.ndarray, n_items: int) -> np.ndarray:
    log.info("synthetic: %d draws kept repeating a (user, item) pair; filled with unused items.", len(todo))
    for row in todo:  # a handful of rows at most after 100 redraws
        mine = user == user[row]
        mine[row] = False
        taken = set(item[mine].tolist())
        item[row] = next(i for i in range(n_items) if i not in taken)
    return item
