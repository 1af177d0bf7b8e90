"""Seeded, vectorised sampling of negative items for the sampled 1 + n evaluation protocol."""
from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from cdgraph.data.pairs import PairIndex, as_long

__all__ = ["sample_negatives"]


def sample_negatives(
    users: Any,
    pos_items: Any,
    num_items: int,
    num_negatives: int = 999,
    exclude_users: Any | None = None,
    exclude_items: Any | None = None,
    candidates: Any | None = None,
    seed: int = 0,
    allow_fewer: bool = False,
    chunk_size: int = 1024,
) -> Tensor:
    r"""Draw ``num_negatives`` distinct negatives for each held-out pair ``(user, pos_item)``.

    Negatives are drawn uniformly **without replacement** from ``candidates`` (default: all
    items), never the positive itself nor an item of the user's excluded pairs (their
    training items). This is the rejection sampling of NCF (He et al., WWW 2017) and
    DisenCDR (SIGIR 2022), made exact and vectorised: all rows are drawn at once, entries
    that are excluded, the positive or a repeat within their row are detected with one
    sorted-key lookup and redrawn, until none is left. Rows whose negatives would take at
    least half of their valid candidates, or all rows when there are at most
    ``8 * num_negatives`` candidates, instead rank random keys over the candidates
    (``chunk_size`` rows at a time) and keep the ``num_negatives`` smallest, so rejection
    never stalls. Either way every set of ``num_negatives`` valid items is equally likely.

    Drawing happens on the CPU with a :class:`torch.Generator` seeded by ``seed``: the same
    inputs and seed give the same negatives on any machine and any device.

    Args:
        users, pos_items (Tensor | array): Held-out pairs, one row each.
        num_items (int): Number of items in the domain.
        num_negatives (int): Negatives per row. (default: ``999``, as in DisenCDR / CDRIB)
        exclude_users, exclude_items (Tensor | array, optional): Pairs never drawn.
        candidates (Tensor | array, optional): The items to draw from. (default: all)
        seed (int): Seed of the generator. (default: ``0``)
        allow_fewer (bool): If a row has fewer than ``num_negatives`` valid candidates,
            give it all of them, padded with ``-1``, instead of raising. (default: ``False``)
        chunk_size (int): Rows per block for the dense path. (default: ``1024``)

    Returns:
        LongTensor ``[len(users), num_negatives]`` on the CPU; ``-1`` marks padding.
    """
    users, pos = as_long(users, "users").cpu(), as_long(pos_items, "pos_items").cpu()
    if users.numel() != pos.numel():
        raise ValueError(f"{users.numel()} users but {pos.numel()} pos_items")
    if pos.numel() and (int(pos.min()) < 0 or int(pos.max()) >= num_items):
        raise ValueError(f"pos_items must lie in [0, {num_items})")
    if num_negatives < 1:
        raise ValueError(f"num_negatives must be >= 1, got {num_negatives}")
    cand = torch.arange(num_items) if candidates is None else torch.unique(
        as_long(candidates, "candidates").cpu())
    if cand.numel() and (int(cand[0]) < 0 or int(cand[-1]) >= num_items):
        raise ValueError(f"candidates must lie in [0, {num_items})")
    slot = torch.full((num_items,), -1, dtype=torch.long)  # item -> position in cand
    slot[cand] = torch.arange(cand.numel())
    if exclude_users is not None and exclude_items is not None:
        ex_u, ex_i = as_long(exclude_users, "exclude_users").cpu(), \
            as_long(exclude_items, "exclude_items").cpu()
        if ex_u.numel() != ex_i.numel():
            raise ValueError(f"{ex_u.numel()} exclude_users but {ex_i.numel()} exclude_items")
        if ex_i.numel() and (int(ex_i.min()) < 0 or int(ex_i.max()) >= num_items):
            raise ValueError(f"exclude_items must lie in [0, {num_items})")
        keep = slot[ex_i] >= 0  # only excluded candidates reduce the choice
        exclude = PairIndex(ex_u[keep], ex_i[keep], num_items, "exclude")
    else:
        exclude = PairIndex.maybe(exclude_users, exclude_items, num_items, "exclude")

    pos_is_cand = (slot[pos] >= 0) & ~exclude.contains(users, pos)
    n_valid = cand.numel() - exclude.counts(users) - pos_is_cand.long()
    short = n_valid < num_negatives
    if short.any() and not allow_fewer:
        row = int(short.nonzero()[0])
        raise ValueError(
            f"{int(short.sum())} of {users.numel()} held-out pairs have fewer than "
            f"{num_negatives} valid negative candidates (e.g. row {row}, user "
            f"{int(users[row])}: {int(n_valid[row])}); lower num_negatives, pass fixed "
            "negatives, or allow_fewer=True to give those rows all their candidates padded "
            "with -1")

    gen = torch.Generator().manual_seed(seed)
    out = torch.full((users.numel(), num_negatives), -1, dtype=torch.long)
    # random keys where rejection would stall (few valid items left) or cost more
    dense = (n_valid < 2 * num_negatives) | (cand.numel() <= 8 * num_negatives)
    sparse = (~dense).nonzero().flatten()
    out[sparse] = _by_rejection(users[sparse], pos[sparse], num_negatives, cand, exclude, gen)
    for block in dense.nonzero().flatten().split(chunk_size):
        out[block] = _by_random_keys(users[block], pos[block], num_negatives, cand, slot,
                                     exclude, gen)
    return out


def _repeats(draw: Tensor) -> Tensor:
    """Entries of ``draw [n, m]`` equal to an earlier entry of their row."""
    sorted_, order = draw.sort(dim=1, stable=True)
    repeat = torch.zeros_like(draw, dtype=torch.bool)
    repeat[:, 1:] = sorted_[:, 1:] == sorted_[:, :-1]
    return torch.zeros_like(repeat).scatter_(1, order, repeat)


def _by_rejection(users: Tensor, pos: Tensor, m: int, cand: Tensor, exclude: PairIndex,
                  gen: torch.Generator) -> Tensor:
    draw = cand[torch.randint(cand.numel(), (users.numel(), m), generator=gen)]
    bad = _repeats(draw) | (draw == pos[:, None]) | exclude.contains(users[:, None], draw)
    rows = torch.arange(users.numel())
    while True:  # redraw the bad entries; only those need the exclusion check again
        keep = bad.any(1)
        rows, bad = rows[keep], bad[keep]
        if not rows.numel():
            return draw
        sub = draw[rows]
        new = cand[torch.randint(cand.numel(), (int(bad.sum()),), generator=gen)]
        sub[bad] = new
        draw[rows] = sub
        r, c = bad.nonzero(as_tuple=True)
        forbidden = torch.zeros_like(bad)
        forbidden[r, c] = (new == pos[rows[r]]) | exclude.contains(users[rows[r]], new)
        bad = _repeats(sub) | forbidden


def _by_random_keys(users: Tensor, pos: Tensor, m: int, cand: Tensor, slot: Tensor,
                    exclude: PairIndex, gen: torch.Generator) -> Tensor:
    keys = torch.rand((users.numel(), cand.numel()), generator=gen)
    rows, items = exclude.gather(users)
    keys[rows, slot[items]] = 2.0  # invalid entries sort last
    has_pos = slot[pos] >= 0
    keys[has_pos.nonzero().flatten(), slot[pos[has_pos]]] = 2.0
    take = min(m, cand.numel())
    vals, idx = keys.topk(take, dim=1, largest=False)
    out = torch.full((users.numel(), m), -1, dtype=torch.long)
    out[:, :take] = torch.where(vals <= 1.0, cand[idx], -1)
    return out
