"""Vectorised negative sampling that excludes a user's known positives."""
from __future__ import annotations

import numpy as np
import torch
from torch import Tensor


class PositiveSet:
    """The known ``(user, item)`` pairs of one domain, for fast membership tests.

    Pairs are kept as sorted ``user * num_items + item`` keys; membership is a
    binary search (``torch.searchsorted``), so no Python loop touches interactions.
    """

    def __init__(self, users: np.ndarray, items: np.ndarray, num_items: int) -> None:
        self.num_items = int(num_items)
        keys = np.unique(users.astype(np.int64) * self.num_items + items.astype(np.int64))
        self.keys = torch.from_numpy(keys)

    def contains(self, users: Tensor, items: Tensor) -> Tensor:
        if self.keys.numel() == 0:
            return torch.zeros_like(items, dtype=torch.bool)
        q = users.to(torch.int64) * self.num_items + items.to(torch.int64)
        pos = torch.searchsorted(self.keys, q).clamp(max=self.keys.numel() - 1)
        return self.keys[pos] == q

    def sample_negatives(self, users: Tensor, generator: torch.Generator, num: int = 1,
                         max_rounds: int = 20, candidates: Tensor | None = None) -> Tensor:
        """``num`` items per user drawn uniformly among the items the user has not interacted with
        (among ``candidates`` when given, e.g. the items seen in training).

        Colliding draws are redrawn (only those) for up to ``max_rounds`` rounds; a user
        who interacted with (nearly) every item may keep a positive after that.
        """
        pool = self.num_items if candidates is None else len(candidates)

        def draw(shape: tuple[int, ...]) -> Tensor:
            idx = torch.randint(0, pool, shape, generator=generator)
            return idx if candidates is None else candidates[idx]

        shape = (users.numel(), num)
        neg = draw(shape)
        u = users.reshape(-1, 1).expand(shape)
        for _ in range(max_rounds):
            bad = self.contains(u, neg)
            n_bad = int(bad.sum())
            if n_bad == 0:
                break
            neg[bad] = draw((n_bad,))
        return neg
