"""Ranking losses of one domain's batch, by name: :data:`LOSSES`."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from cdgraph.nn.base import Scorer
from cdgraph.registry import Registry

#: name -> ``loss(scorer, users [n, d], items [I, d], positives [n], negatives [n]) -> scalar``
LOSSES: Registry = Registry("loss")
#: Items shared by a batch as the sampled softmax's negatives.
SOFTMAX_NEGATIVES = 1024


@LOSSES.register("bpr")
def bpr(scorer: Scorer, users: Tensor, items: Tensor, pos: Tensor, neg: Tensor) -> Tensor:
    r"""Bayesian personalised ranking (Rendle et al., UAI 2009): :math:`-\log\sigma(s_{ui} - s_{uj})`."""
    scores = scorer(users, items[torch.stack([pos, neg], 1)])
    return -F.logsigmoid(scores[:, 0] - scores[:, 1]).mean()


@LOSSES.register("bce")
def bce(scorer: Scorer, users: Tensor, items: Tensor, pos: Tensor, neg: Tensor) -> Tensor:
    """Binary cross-entropy, the positive against its one negative."""
    scores = scorer(users, items[torch.stack([pos, neg], 1)])
    labels = torch.zeros_like(scores)
    labels[:, 0] = 1
    return F.binary_cross_entropy_with_logits(scores, labels)


@LOSSES.register("softmax")
def softmax(scorer: Scorer, users: Tensor, items: Tensor, pos: Tensor, neg: Tensor) -> Tensor:
    """Sampled softmax: the positive against :data:`SOFTMAX_NEGATIVES` items drawn uniformly
    and shared by the batch (as in sampled-softmax recommenders, e.g. Covington et al., RecSys
    2016; Wu et al., "On the Effectiveness of Sampled Softmax Loss for Item Recommendation",
    TOIS 2024). ``neg`` is unused."""
    shared = torch.randint(0, items.size(0), (SOFTMAX_NEGATIVES,), device=items.device)
    positive = scorer(users, items[pos].unsqueeze(1))
    negative = scorer.score_all(users, items[shared])
    negative = negative.masked_fill(shared.unsqueeze(0) == pos.unsqueeze(1), -torch.inf)
    logits = torch.cat([positive, negative], 1)
    return F.cross_entropy(logits, torch.zeros(users.size(0), dtype=torch.long, device=users.device))
