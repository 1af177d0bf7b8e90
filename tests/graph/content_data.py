"""Planted data with item content that reveals each item's block, for the content tests."""
from __future__ import annotations

import numpy as np
import pandas as pd

import cdgraph

from ..planted import planted

WORDS = ["tea coffee", "pan skillet", "paper pencil", "paint brush"]


def featured(num_users: int = 120, num_items: int = 40, seed: int = 0, noise: float = 0.3,
             text: bool = False) -> cdgraph.CrossDomainData:
    """:func:`planted` data whose items carry a 4-d vector (their block one-hot plus noise) or a
    title naming their block; items of the same block in both domains look alike."""
    data = planted(num_users=num_users, num_items=num_items, seed=seed)
    rng = np.random.default_rng(seed + 100)
    for d in data.domains:
        ids = np.asarray(data.item_ids[d])
        block = ids // (num_items // 4)
        if text:
            table = pd.DataFrame({"item": ids, "title": [f"{WORDS[b]} item {i}" for b, i in zip(block, ids)]})
        else:
            vec = (np.eye(4)[block] + noise * rng.standard_normal((len(ids), 4))).astype(np.float32)
            table = pd.DataFrame({"item": ids, "vec": list(vec)})
        data.set_item_features(d, table)
    return data
