"""The sampled 1 + n protocol: each held-out item ranked against n negatives, and the
binary-classification view (one negative per positive)."""
from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm
from torch import Tensor

from cdgraph.data.pairs import as_long
from cdgraph.evaluation.full import check_ks, check_scores
from cdgraph.evaluation.negatives import sample_negatives

__all__ = ["sampled_ranking", "classification", "auc"]


def sampled_ranking(
    score_pairs: Callable[[Tensor, Tensor], Tensor],
    users: Any,
    pos_items: Any,
    num_items: int,
    negatives: Any | None = None,
    num_negatives: int = 999,
    exclude_users: Any | None = None,
    exclude_items: Any | None = None,
    candidates: Any | None = None,
    ks: int | Sequence[int] = (1, 5, 10),
    seed: int = 0,
    chunk_size: int = 1024,
    allow_fewer: bool = False,
) -> pd.DataFrame:
    r"""Rank each held-out item against its own negatives (the sampled 1 + n protocol).

    The protocol is from NCF (He et al., WWW 2017, 100 candidates); DisenCDR (SIGIR 2022)
    and CDRIB (ICDE 2022) use 999 negatives, GA-DTCDR (IJCAI 2020) 99. The negatives are
    either given (``negatives``, e.g. those a dataset ships) or drawn by
    :func:`~cdgraph.evaluation.sample_negatives` (uniform, without replacement, never the
    positive nor an excluded item, seeded: same seed, same negatives, same metrics). To
    evaluate often (every epoch) or compare models, draw them once with
    :func:`~cdgraph.evaluation.sample_negatives` and pass them as ``negatives``.

    The rank is **pessimistic** on ties: :math:`r = |\{j : s_j \ge s_+\}|` (0-based) over the
    row's negatives, so a constant scorer gets the worst rank, not the best. Then

    .. math::
        \mathrm{MRR} = \frac{1}{r + 1}, \quad \mathrm{HR@K} = [r < K], \quad
        \mathrm{NDCG@K} = \frac{[r < K]}{\log_2(r + 2)},

    MRR without cut-off, as CDRIB reports it. :mod:`torch_geometric.metrics` has only the
    full-ranking metrics; this protocol, MRR over sampled candidates and per-row output
    are what this function adds.

    Args:
        score_pairs (callable): ``score_pairs(users: LongTensor[n], items: LongTensor[n, m])
            -> Tensor[n, m]``, called on chunks (on the device of ``users``); padding
            entries are passed as the row's positive and ignored.
        users, pos_items (Tensor | array): Held-out pairs, one row each.
        num_items (int): Number of items in the domain.
        negatives (Tensor | array, optional): Fixed negatives ``[n, m]``; ``-1`` pads and
            is ignored. Used as given (a positive among them counts as a tie).
        num_negatives (int): Negatives to draw when ``negatives`` is not given.
            (default: ``999``)
        exclude_users, exclude_items, candidates, seed, allow_fewer: Passed to
            :func:`~cdgraph.evaluation.sample_negatives`.
        ks (int | sequence of int): Cut-offs. (default: ``(1, 5, 10)``)
        chunk_size (int): Rows scored per call. (default: ``1024``)

    Returns:
        DataFrame with one row per held-out pair, in input order, and columns ``MRR``,
        ``HR@K``, ``NDCG@K`` for each K and ``rank`` (0-based, pessimistic).
    """
    ks = check_ks(ks)
    negs = _negatives(users, pos_items, num_items, negatives, num_negatives, exclude_users,
                      exclude_items, candidates, seed, allow_fewer)
    ranks = [torch.zeros(0, dtype=torch.long)]
    for neg, scores in _iter_scores(score_pairs, users, pos_items, negs, chunk_size):
        beats = ~(scores[:, 1:] < scores[:, :1]) & (neg >= 0).to(scores.device)
        ranks.append(beats.sum(1).cpu())
    rank = torch.cat(ranks).numpy()
    data: dict[str, np.ndarray] = {"MRR": 1.0 / (rank + 1)}
    for k in ks:
        data[f"HR@{k}"] = (rank < k).astype(np.float64)
    for k in ks:
        data[f"NDCG@{k}"] = np.where(rank < k, 1.0 / np.log2(rank + 2.0), 0.0)
    data["rank"] = rank
    return pd.DataFrame(data)


def classification(
    score_pairs: Callable[[Tensor, Tensor], Tensor],
    users: Any,
    pos_items: Any,
    num_items: int,
    exclude_users: Any | None = None,
    exclude_items: Any | None = None,
    candidates: Any | None = None,
    negatives: Any | None = None,
    seed: int = 0,
    threshold: float = 0.5,
    apply_sigmoid: bool = True,
    chunk_size: int = 1024,
) -> dict[str, float]:
    r"""Binary-classification metrics: each held-out positive against one sampled negative.

    The negative is drawn as in :func:`sampled_ranking` (or given: ``negatives`` of shape
    ``[n]`` or ``[n, 1]``). A pair is predicted positive when its probability (``sigmoid``
    of the score, or the score itself if ``apply_sigmoid=False``) is ``>= threshold``.
    Precision is 0 when nothing is predicted positive. AUC is the Mann-Whitney statistic
    over all positive vs. all negative scores (a global AUC, not averaged per user; ties
    count one half), computed on the raw scores.

    Returns:
        ``{"accuracy", "precision", "recall", "f1", "auc"}`` as floats.
    """
    if negatives is not None:
        negatives = as_long(negatives, "negatives").reshape(-1, 1)
    negs = _negatives(users, pos_items, num_items, negatives, 1, exclude_users, exclude_items,
                      candidates, seed, False)
    parts = [s.double().cpu() for _, s in
             _iter_scores(score_pairs, users, pos_items, negs, chunk_size)]
    scores = torch.cat(parts) if parts else torch.zeros((0, 2), dtype=torch.double)
    prob = torch.sigmoid(scores) if apply_sigmoid else scores
    pred = prob >= threshold
    tp, fn = int(pred[:, 0].sum()), int((~pred[:, 0]).sum())
    fp, tn = int(pred[:, 1].sum()), int((~pred[:, 1]).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "accuracy": (tp + tn) / max(tp + tn + fp + fn, 1),
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "auc": auc(scores[:, 0], scores[:, 1]),
    }


def auc(pos_scores: Any, neg_scores: Any) -> float:
    r"""Area under the ROC curve as the Mann-Whitney U statistic, ties counting one half:
    :math:`\frac{1}{|P||N|} \sum_{p, n} ([s_p > s_n] + \tfrac12 [s_p = s_n])`, from average
    ranks in :math:`O((|P| + |N|) \log(|P| + |N|))`."""
    pos = torch.as_tensor(pos_scores).detach().double().cpu().numpy().ravel()
    neg = torch.as_tensor(neg_scores).detach().double().cpu().numpy().ravel()
    if not pos.size or not neg.size:
        raise ValueError("auc needs at least one positive and one negative score")
    from scipy.stats import rankdata  # scipy.stats takes a second to import: only when used

    ranks = rankdata(np.concatenate([pos, neg]))
    u = ranks[:pos.size].sum() - pos.size * (pos.size + 1) / 2.0
    return float(u / (pos.size * neg.size))


def _negatives(users: Any, pos_items: Any, num_items: int, negatives: Any | None,
               num_negatives: int, exclude_users: Any | None, exclude_items: Any | None,
               candidates: Any | None, seed: int, allow_fewer: bool) -> Tensor:
    """The given negatives, checked, or freshly sampled ones."""
    n = as_long(users, "users").numel()
    if negatives is None:
        return sample_negatives(users, pos_items, num_items, num_negatives, exclude_users,
                                exclude_items, candidates, seed, allow_fewer)
    negs = negatives if isinstance(negatives, Tensor) else torch.as_tensor(np.asarray(negatives))
    if negs.dim() != 2 or negs.shape[0] != n:
        raise ValueError(f"negatives must have shape [{n}, m] (one row per held-out pair), "
                         f"got {tuple(negs.shape)}")
    negs = negs.long().cpu()
    if negs.numel() and (int(negs.min()) < -1 or int(negs.max()) >= num_items):
        raise ValueError(f"negatives must lie in [0, {num_items}) or be -1 (padding)")
    return negs


def _iter_scores(score_pairs: Callable[[Tensor, Tensor], Tensor], users: Any,
                 pos_items: Any, negs: Tensor, chunk_size: int
                 ) -> Iterator[tuple[Tensor, Tensor]]:
    """Per chunk, the negatives ``[c, m]`` and scores ``[c, 1 + m]`` (positive first)."""
    users, pos = as_long(users, "users"), as_long(pos_items, "pos_items")
    if users.numel() != pos.numel():
        raise ValueError(f"{users.numel()} users but {pos.numel()} pos_items")
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    pos = pos.to(users.device)
    with torch.no_grad():
        for start in tqdm(range(0, users.numel(), chunk_size), desc="sampled ranking", unit="chunk",
                          leave=False, disable=None):
            u, p = users[start:start + chunk_size], pos[start:start + chunk_size]
            neg = negs[start:start + chunk_size]
            dneg = neg.to(users.device)
            items = torch.cat([p[:, None], torch.where(dneg >= 0, dneg, p[:, None])], dim=1)
            yield neg, check_scores(score_pairs(u, items), tuple(items.shape), "score_pairs")
