"""A tiny seeded two-domain dataset with planted shared preferences, for model tests."""
from __future__ import annotations

import numpy as np
import pandas as pd

import cdgraph


def planted(num_users: int = 120, num_items: int = 40, per_user: int = 8, seed: int = 0,
            cold_fraction: float = 0.0) -> cdgraph.CrossDomainData:
    """Users belong to one of 4 clusters; each cluster likes one block of items in both domains."""
    rng = np.random.default_rng(seed)
    cluster = rng.integers(0, 4, num_users)
    frames = {}
    for d in ("src", "tgt"):
        users = np.repeat(np.arange(num_users), per_user)
        block = num_items // 4
        liked = cluster[users] * block + rng.integers(0, block, users.size)
        noise = rng.random(users.size) < 0.1
        liked[noise] = rng.integers(0, num_items, int(noise.sum()))
        frames[d] = pd.DataFrame({"user": users, "item": liked})
    return cdgraph.CrossDomainData.from_frames(frames)


def planted_cold_start(num_users: int = 200, seed: int = 1) -> cdgraph.data.split.Split:
    """A cold-start split of :func:`planted` data: 30% of the shared users lose their target history."""
    return cdgraph.data.split.cold_start(planted(num_users=num_users, per_user=6, seed=seed), "tgt", fraction=0.3, seed=0)
