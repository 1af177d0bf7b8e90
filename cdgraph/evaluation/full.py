"""Full-ranking top-K metrics: every user's held-out items against the whole catalogue."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd
import torch
from tqdm.auto import tqdm
from torch import Tensor

from cdgraph.data.pairs import PairIndex

__all__ = ["full_ranking", "check_ks"]


def check_ks(ks: int | Sequence[int]) -> list[int]:
    """The cut-offs as a sorted list of distinct positive ints."""
    ks = [ks] if isinstance(ks, int) else list(ks)
    if not ks or any(int(k) != k or k < 1 for k in ks):
        raise ValueError(f"ks must be positive integers, got {ks}")
    return sorted({int(k) for k in ks})


def check_scores(scores: Tensor, shape: tuple[int, int], fn: str, nan: bool = True) -> Tensor:
    """Validate the output of a score function and make it floating point.

    ``nan=False`` skips the NaN scan, for callers that check a smaller tensor derived
    from the scores instead (a full scan of a chunk costs a fifth of its ranking time).
    """
    if not isinstance(scores, Tensor) or tuple(scores.shape) != shape:
        got = tuple(scores.shape) if isinstance(scores, Tensor) else type(scores).__name__
        raise ValueError(f"{fn} must return a tensor of shape {shape}, got {got}")
    if not scores.is_floating_point():
        scores = scores.float()
    if nan and torch.isnan(scores).any():
        raise ValueError(f"{fn} returned NaN scores; the model is broken (check the loss "
                         "and learning rate) and cannot be ranked")
    return scores


def full_ranking(
    score_users: Callable[[Tensor], Tensor],
    num_items: int,
    truth_users: Any,
    truth_items: Any,
    exclude_users: Any | None = None,
    exclude_items: Any | None = None,
    ks: int | Sequence[int] = (5, 10, 20),
    chunk_size: int = 1024,
) -> pd.DataFrame:
    r"""Per-user top-K metrics of held-out items ranked against all items.

    Users are scored ``chunk_size`` at a time, so the users x items score matrix is never
    held whole. In each chunk the pairs ``(exclude_users, exclude_items)`` (the user's
    training items) are set to :math:`-\infty` before :func:`torch.topk`, so they neither
    count as hits nor take a slot. With binary relevance, :math:`T_u` the user's held-out
    items and :math:`h_i = 1` if the item at rank :math:`i` (1-based) is in :math:`T_u`:

    .. math::
        \mathrm{Recall@K} = \frac{\sum_{i \le K} h_i}{|T_u|}, \quad
        \mathrm{Precision@K} = \frac{\sum_{i \le K} h_i}{K}, \quad
        \mathrm{HR@K} = [\textstyle\sum_{i \le K} h_i > 0],

        \mathrm{NDCG@K} = \frac{\sum_{i \le K} h_i / \log_2(i + 1)}
            {\sum_{i \le \min(|T_u|, K)} 1 / \log_2(i + 1)}, \quad
        \mathrm{MRR@K} = 1 / \min\{i \le K : h_i = 1\} \text{ (0 if none)}.

    Recall divides by :math:`|T_u|`, not :math:`\min(|T_u|, K)`, as in LightGCN and
    :class:`torch_geometric.metrics.LinkPredRecall`. ``K`` larger than ``num_items`` is
    allowed (the list is just shorter; Precision still divides by ``K``). Ties are broken
    by :func:`torch.topk`; items scored :math:`-\infty` (excluded ones) never count as hits,
    and a held-out item that is also excluded can never be hit but still counts in
    :math:`|T_u|`. NaN scores raise.

    Compared with :mod:`torch_geometric.metrics` (``LinkPredRecall``, ``LinkPredNDCG``, ...),
    which accumulate a mean from precomputed top-K lists, this does the chunked scoring and
    train-item masking itself and returns one row per user, so the caller can average over
    any group (cold / warm users) or run significance tests.

    Args:
        score_users (callable): ``score_users(users: LongTensor[n]) -> Tensor[n, num_items]``.
            Called on chunks of users (on the device of ``truth_users``); the metrics are
            computed on the device of the tensor it returns.
        num_items (int): Number of items in the ranked domain.
        truth_users, truth_items (Tensor | array): Held-out pairs; duplicates are ignored.
        exclude_users, exclude_items (Tensor | array, optional): Pairs to mask, usually
            the training interactions.
        ks (int | sequence of int): Cut-offs. (default: ``(5, 10, 20)``)
        chunk_size (int): Users scored per call. (default: ``1024``)

    Returns:
        DataFrame indexed by user (the unique users of ``truth_users``, sorted), with
        columns ``Recall@K``, ``NDCG@K``, ``HR@K``, ``Precision@K``, ``MRR@K`` for each K.
    """
    ks = check_ks(ks)
    if num_items < 1 or chunk_size < 1:
        raise ValueError(f"num_items and chunk_size must be >= 1, got {num_items}, {chunk_size}")
    truth = PairIndex(truth_users, truth_items, num_items, "truth")
    exclude = PairIndex.maybe(exclude_users, exclude_items, num_items, "exclude")
    users, n_truth = torch.unique_consecutive(truth.users, return_counts=True)
    k_top = min(ks[-1], num_items)
    names = ["Recall", "NDCG", "HR", "Precision", "MRR"]
    parts: dict[str, list[Tensor]] = {f"{m}@{k}": [] for m in names for k in ks}

    with torch.no_grad():
        for start in tqdm(range(0, users.numel(), chunk_size), desc="full ranking", unit="chunk",
                          leave=False, disable=None):
            u = users[start:start + chunk_size]
            scores = check_scores(score_users(u), (u.numel(), num_items), "score_users", nan=False)
            dev = scores.device
            u, nt = u.to(dev), n_truth[start:start + chunk_size].to(dev)
            rows, items = exclude.to(dev).gather(u)
            scores = scores.index_put((rows, items), torch.tensor(float("-inf"), device=dev,
                                                                  dtype=scores.dtype))
            vals, top = scores.topk(k_top, dim=1)
            if torch.isnan(vals).any():  # topk ranks NaN first: checking the top is enough
                raise ValueError("score_users returned NaN scores; the model is broken (check the "
                                 "loss and learning rate) and cannot be ranked")
            hits = truth.to(dev).contains(u[:, None], top) & (vals > float("-inf"))
            for name, value in _chunk_metrics(hits, nt, ks).items():
                parts[name].append(value.cpu())

    data = {name: torch.cat(v).double().numpy() if v else [] for name, v in parts.items()}
    return pd.DataFrame(data, index=pd.Index(users.cpu().numpy(), name="user"))


def _chunk_metrics(hits: Tensor, n_truth: Tensor, ks: list[int]) -> dict[str, Tensor]:
    """Metrics at each K from a boolean hit matrix ``[n, k_top]`` and truth sizes ``[n]``."""
    dev, k_top = hits.device, hits.shape[1]
    h = hits.float()
    cum = h.cumsum(1)
    discount = 1.0 / torch.log2(torch.arange(ks[-1], device=dev, dtype=torch.float) + 2.0)
    ideal = discount.cumsum(0)
    dcg = (h * discount[:k_top]).cumsum(1)
    first = torch.where(hits.any(1), h.argmax(1), torch.full_like(n_truth, ks[-1]))  # never < k
    out: dict[str, Tensor] = {}
    for k in ks:
        col = min(k, k_top) - 1
        n_hit = cum[:, col]
        out[f"Recall@{k}"] = n_hit / n_truth
        out[f"NDCG@{k}"] = dcg[:, col] / ideal[n_truth.clamp(max=k) - 1]
        out[f"HR@{k}"] = (n_hit > 0).float()
        out[f"Precision@{k}"] = n_hit / k
        out[f"MRR@{k}"] = torch.where(first < k, 1.0 / (first + 1).float(), 0.0)
    return out
