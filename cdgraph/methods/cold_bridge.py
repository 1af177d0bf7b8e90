"""cdgraph's cold-start model: the joint graph, plus a personalised bridge for users new to the target."""
from __future__ import annotations

import logging
from typing import Any, Sequence

import numpy as np
import torch
from torch import Tensor

from ..model import CrossDomainRecommender
from ..nn.scorers import DotScorer
from ..split import Split
from .factors import FactorRecommender, active
from .ptupcdr import PTUPCDR

log = logging.getLogger(__name__)

#: fit options that belong to the graph model alone (the bridge trains afresh, in memory)
_GRAPH_ONLY = ("checkpoint", "resume", "source_weight", "neighbors", "cold_simulation")


class ColdBridge(FactorRecommender):
    r"""The joint-graph recommender, with a PTUPCDR bridge mixed in for cold users.

    Why: on the cold-start tasks of ``benchmarks/results/grid`` the joint graph
    (:class:`~cdgraph.CrossDomainRecommender`: a cold user's embedding comes from its
    source items, propagated through the users both domains share) and PTUPCDR's
    personalised bridge over per-domain LightGCN factors (:class:`PTUPCDR`, Zhu et al.,
    WSDM 2022) each win some of the tasks, and they err on different users: their mix,
    weighted on validation, ranks better than either.

    For a user :math:`u` who is *cold* in the target (source interactions, no target
    training interaction) the score of target item :math:`i` is

    .. math::
        s(u, i) = (1 - \beta)\, z_G(u, i) + \beta\, z_B(u, i),

    with :math:`z_G, z_B` the graph model's and the bridge's scores standardised over
    the target's items for that user, :math:`z(u, i) = (u^\top i - u^\top \mu) /
    \sqrt{u^\top \Sigma u}`, :math:`\mu, \Sigma` the mean and covariance of the item
    factors (closed form: no user-by-item matrix is built). Per user this ranks as the
    inner product of user factors :math:`[(1-\beta)\, u_G / \sigma_G(u),\ \beta\, u_B /
    \sigma_B(u)]` with item factors :math:`[i_G - \mu_G,\ i_B - \mu_B]`, which is how it
    is stored and scored. Warm users keep the graph model's scores (:math:`\beta = 0`).

    :math:`\beta` is chosen among ``betas`` by validation ``valid_metric`` (ties go to
    the smaller :math:`\beta`; :math:`\beta = 0` is the graph model alone). When no
    validation or test user of the split is cold (warm splits), no bridge is trained and
    the model is exactly the graph model.

    Args:
        target (str): The target domain.
        betas (sequence of float): Candidate bridge weights, each in ``[0, 1]``.
            (default: ``(0, 0.2, 0.35, 0.5, 0.65, 0.8, 1)``)
        bridge_options (dict, optional): :class:`PTUPCDR` arguments. (default:
            ``{"layers": 4}``, LightGCN factors)
        **options: :class:`~cdgraph.CrossDomainRecommender` arguments of the graph
            model (its scorer must be ``"dot"``).

    Attributes (after ``fit``):
        graph_ (CrossDomainRecommender): The fitted graph model.
        bridge_ (PTUPCDR or None): The fitted bridge; None when no user was cold.
        beta_ (float): The chosen bridge weight.
        valid_scores_ (dict[float, float]): Validation ``valid_metric`` of each candidate.
    """

    def __init__(self, target: str, betas: Sequence[float] = (0.0, 0.2, 0.35, 0.5, 0.65, 0.8, 1.0),
                 bridge_options: dict[str, Any] | None = None, **options: Any) -> None:
        betas = tuple(float(b) for b in betas)
        if not betas or any(not 0.0 <= b <= 1.0 for b in betas):
            raise ValueError(f"betas must be weights in [0, 1], got {betas!r}.")
        self.target, self.betas = target, betas
        self.bridge_options = {"layers": 4, **(bridge_options or {})}
        self.options = options
        self.users_: Tensor | None = None
        self.items_: Tensor | None = None
        self.graph_: CrossDomainRecommender | None = None
        self.bridge_: PTUPCDR | None = None

    @property
    def history_(self):
        """The graph model's training history."""
        return None if self.graph_ is None else self.graph_.history_

    @property
    def source_weight_(self) -> float | None:
        return None if self.graph_ is None else self.graph_.source_weight_

    def fit(self, split: Split, epochs: int = 30, seed: int = 0, **options: Any) -> "ColdBridge":
        """Fit the graph model, then (when some held-out user is cold) the bridge and ``beta``.

        ``epochs``, ``seed`` and ``options`` are those of
        :meth:`cdgraph.CrossDomainRecommender.fit`; the bridge gets them too, less the
        graph model's own (``checkpoint``, ``resume``, ``source_weight``, ``neighbors``,
        ``cold_simulation``).
        """
        graph = CrossDomainRecommender(self.target, **self.options)
        if not isinstance(graph.scorer, DotScorer) and graph.scorer != "dot":
            raise ValueError(f"ColdBridge mixes inner-product scores; the graph model's scorer must be "
                             f"'dot', got {graph.scorer!r}.")
        graph.fit(split, epochs=epochs, seed=seed, **options)
        users, items = (t.detach().cpu() for t in graph._final())
        self.graph_, self.bridge_, self.beta_, self.valid_scores_ = graph, None, 0.0, {}
        self._remember(split)
        cold = _cold_users(split)
        held_out = np.concatenate([split.valid["user"].to_numpy(), split.test["user"].to_numpy()])
        if not np.isin(held_out, cold).any():
            self.users_, self.items_ = users, items
            return self
        rest = {k: v for k, v in options.items() if k not in _GRAPH_ONLY}
        bridge = PTUPCDR(self.target, dim=users.shape[1], **self.bridge_options)
        bridge.fit(split, epochs=epochs, seed=seed, **rest)
        self.bridge_ = bridge
        graph_u, graph_i = _standardised(users, items)
        bridge_u, bridge_i = _standardised(bridge.users_, bridge.items_)
        self.items_ = torch.cat([graph_i, bridge_i], 1)
        is_cold = torch.zeros(len(users), 1)
        is_cold[torch.from_numpy(cold)] = 1.0

        def mix(beta: float) -> Tensor:
            w = beta * is_cold
            return torch.cat([(1 - w) * graph_u, w * bridge_u], 1)

        if not len(split.valid):
            log.warning("ColdBridge needs validation interactions to choose beta; using beta=0.5.")
            self.beta_ = 0.5
        else:
            metric = options.get("valid_metric", "NDCG@10")
            check = self._validator(split, metric, options.get("valid_protocol"),
                                    options.get("num_negatives"), seed)
            for beta in self.betas:
                self.users_ = mix(beta)
                self.valid_scores_[beta] = float(check()[metric])
            self.beta_ = max(self.valid_scores_, key=lambda b: (self.valid_scores_[b], -b))
            log.info("ColdBridge beta on validation %s: %s -> %s", metric, self.valid_scores_, self.beta_)
        self.users_ = mix(self.beta_)
        return self


def _cold_users(split: Split) -> np.ndarray:
    """Users with source training interactions and none in the target."""
    return np.flatnonzero(active(split, split.sources) & ~active(split, split.target))


def _standardised(users: Tensor, items: Tensor) -> tuple[Tensor, Tensor]:
    """Factors whose inner products are each user's scores standardised over the items."""
    centred = items - items.mean(0)
    cov = centred.t() @ centred / max(1, len(items) - 1)
    scale = ((users @ cov) * users).sum(1).clamp(min=1e-12).sqrt()
    return users / scale[:, None], centred
