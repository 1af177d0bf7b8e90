"""A sorted set of (user, item) pairs with vectorised membership, per-user lookup and negative
sampling: the one structure behind training's negatives and the metrics' masks."""
from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor


def as_long(x: Any, name: str) -> Tensor:
    """``x`` (tensor, array, list or Series) as a 1-D int64 tensor; a tensor keeps its device."""
    if not isinstance(x, Tensor):
        x = np.asarray(x)
        x = x if x.flags.writeable else x.copy()  # torch shares memory and refuses read-only arrays
    t = x if isinstance(x, Tensor) else torch.as_tensor(x)
    if t.is_floating_point() or t.is_complex() or t.dtype == torch.bool:
        raise TypeError(f"{name} must hold integer indices, got dtype {t.dtype}")
    return t.long().reshape(-1)


class PairIndex:
    """The set of pairs ``(user, item)`` stored as sorted unique keys ``user * num_items + item``.

    Membership is one :func:`torch.searchsorted`; all pairs of a batch of users are gathered
    without a Python loop. :meth:`to` caches a copy per device.

    Args:
        users (Tensor | array): User index of each pair.
        items (Tensor | array): Item index of each pair, in ``[0, num_items)``.
        num_items (int): Size of the item index space.
        name (str): What the pairs are, for error messages.
    """

    def __init__(self, users: Any, items: Any, num_items: int, name: str = "pairs") -> None:
        users, items = as_long(users, f"{name} users"), as_long(items, f"{name} items")
        if users.numel() != items.numel():
            raise ValueError(f"{name}: {users.numel()} users but {items.numel()} items")
        if items.numel() and (int(items.min()) < 0 or int(items.max()) >= num_items):
            raise ValueError(f"{name}: item indices must lie in [0, {num_items}), got "
                             f"[{int(items.min())}, {int(items.max())}]")
        if users.numel() and int(users.min()) < 0:
            raise ValueError(f"{name}: user indices must be >= 0, got {int(users.min())}")
        self.num_items = int(num_items)
        self.keys = torch.unique(users * self.num_items + items.to(users.device))
        self._copies: dict[torch.device, PairIndex] = {self.keys.device: self}

    @classmethod
    def maybe(cls, users: Any | None, items: Any | None, num_items: int,
              name: str = "pairs") -> PairIndex:
        """The index of the given pairs, or an empty one when both are ``None``."""
        if (users is None) != (items is None):
            raise ValueError(f"{name}: give both users and items, or neither")
        if users is None:
            return cls(torch.empty(0, dtype=torch.long), torch.empty(0, dtype=torch.long),
                       num_items, name)
        return cls(users, items, num_items, name)

    def to(self, device: torch.device | str) -> PairIndex:
        device = torch.device(device)
        if device not in self._copies:
            copy = object.__new__(PairIndex)
            copy.num_items, copy.keys = self.num_items, self.keys.to(device)
            copy._copies = self._copies
            self._copies[device] = copy
        return self._copies[device]

    def __len__(self) -> int:
        return self.keys.numel()

    @property
    def users(self) -> Tensor:
        """User of each stored pair (sorted)."""
        return torch.div(self.keys, self.num_items, rounding_mode="floor")

    def contains(self, users: Tensor, items: Tensor) -> Tensor:
        """Boolean tensor (broadcast shape): is ``(users, items)`` in the set; items
        outside ``[0, num_items)`` (such as ``-1`` padding) never are."""
        query = users * self.num_items + items
        if len(self) == 0:
            return torch.zeros_like(query, dtype=torch.bool)
        pos = torch.searchsorted(self.keys, query).clamp_(max=len(self) - 1)
        return (self.keys[pos] == query) & (items >= 0) & (items < self.num_items)

    def _bounds(self, users: Tensor) -> tuple[Tensor, Tensor]:
        lo = torch.searchsorted(self.keys, users * self.num_items)
        hi = torch.searchsorted(self.keys, (users + 1) * self.num_items)
        return lo, hi

    def counts(self, users: Tensor) -> Tensor:
        """Number of stored pairs of each user in ``users``."""
        lo, hi = self._bounds(users)
        return hi - lo

    def gather(self, users: Tensor) -> tuple[Tensor, Tensor]:
        """All pairs of ``users``: ``(rows, items)`` where ``rows`` indexes into ``users``."""
        lo, hi = self._bounds(users)
        counts = hi - lo
        rows = torch.repeat_interleave(torch.arange(users.numel(), device=users.device), counts)
        offsets = torch.cumsum(counts, 0) - counts
        idx = torch.arange(rows.numel(), device=users.device) + (lo - offsets)[rows]
        return rows, self.keys[idx] - users[rows] * self.num_items

    def sample_negatives(self, users: Tensor, generator: torch.Generator, num: int = 1,
                         max_rounds: int = 20, candidates: Tensor | None = None) -> Tensor:
        """``num`` items per user drawn uniformly among the items the user has no pair with
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
