"""Alignment losses between a user's domain views; any of them adds to any model."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from cdgraph.nn.base import Alignment, Encoded, Encoder, GraphContext, register_alignment


def _shared_mask(ctx: GraphContext) -> Tensor:
    active = torch.stack([ctx.user_degree(d) > 0 for d in ctx.domains], 1)
    return active.sum(1) >= 2


class _PairAlignment(Alignment):
    """Shared machinery: the batch's shared users and each (target, source) view pair."""

    def setup(self, ctx: GraphContext, dim: int, encoder: Encoder) -> None:
        super().setup(ctx, dim, encoder)
        self.register_buffer("shared", _shared_mask(ctx), persistent=False)
        self.target, self.sources = ctx.target, ctx.sources

    def shared_users(self, users: Tensor) -> Tensor:
        users = torch.unique(users)
        return users[self.shared[users]]


@register_alignment("weight-sharing")
class WeightSharing(_PairAlignment):
    r"""Weight-sharing regulariser :math:`\lambda \lVert W_s - W_t \rVert^2`.

    Pulls the layer-0 (ego) user embeddings of a shared user in the target and in
    each source domain together, on the batch's shared users (soft parameter
    sharing, as in cross-stitch / CoNet-style models). It has an effect only on
    encoders with per-domain user tables (``bitgcf``, ``lightgcn`` with ``specific=True``).
    """

    def forward(self, encoded: Encoded, users: Tensor, ctx: GraphContext,
                batch: dict | None = None) -> Tensor:
        u = self.shared_users(users)
        if u.numel() == 0:
            return encoded.ego_users[self.target].sum() * 0
        t = encoded.ego_users[self.target][u]
        loss = sum(((encoded.ego_users[s][u] - t) ** 2).sum(1).mean() for s in self.sources)
        return self.weight * loss


class _GradReverse(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: Tensor, scale: float) -> Tensor:  # type: ignore[override]
        ctx.scale = scale
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: Tensor):  # type: ignore[override]
        return -ctx.scale * grad, None


@register_alignment("adversarial")
class AdversarialAlignment(_PairAlignment):
    r"""Domain-adversarial alignment through a gradient-reversal layer.

    Ganin & Lempitsky, "Unsupervised Domain Adaptation by Backpropagation", ICML 2015:
    a discriminator learns to tell which domain a user view came from, while the
    reversed gradient trains the encoder to make the views indistinguishable.

    Args:
        weight (float): Loss weight. (default: 0.1)
        hidden (int): Discriminator width. (default: 64)
    """

    def __init__(self, weight: float = 0.1, hidden: int = 64) -> None:
        super().__init__(weight)
        self.hidden = hidden

    def setup(self, ctx: GraphContext, dim: int, encoder: Encoder) -> None:
        super().setup(ctx, dim, encoder)
        self.disc = nn.Sequential(nn.Linear(dim, self.hidden), nn.ReLU(),
                                  nn.Linear(self.hidden, len(ctx.domains)))

    def forward(self, encoded: Encoded, users: Tensor, ctx: GraphContext,
                batch: dict | None = None) -> Tensor:
        u = self.shared_users(users)
        x = torch.cat([encoded.users[d][u] for d in ctx.domains])
        y = torch.arange(len(ctx.domains), device=x.device).repeat_interleave(u.numel())
        logits = self.disc(_GradReverse.apply(x, 1.0))
        return self.weight * F.cross_entropy(logits, y) if u.numel() else x.sum() * 0


@register_alignment("contrastive")
class ContrastiveAlignment(_PairAlignment):
    r"""InfoNCE alignment of a shared user's target and source views.

    Oord et al., "Representation Learning with Contrastive Predictive Coding", 2018;
    used across domains by e.g. CDRIB (Cao et al., ICDE 2022). For the batch's shared
    users, a user's target view must pick out the same user's source view among the
    other users' source views:

    .. math::
        \mathcal{L} = -\frac{1}{|B|}\sum_{u\in B} \log
        \frac{\exp(\cos(x_u^t, x_u^s)/\tau)}{\sum_{v \in B}\exp(\cos(x_u^t, x_v^s)/\tau)}

    Args:
        weight (float): Loss weight. (default: 0.1)
        temperature (float): :math:`\tau`. (default: 0.2)
        max_users (int): At most this many batch users enter the loss. (default: 2048)
    """

    def __init__(self, weight: float = 0.1, temperature: float = 0.2, max_users: int = 2048) -> None:
        super().__init__(weight)
        self.temperature, self.max_users = temperature, max_users

    def forward(self, encoded: Encoded, users: Tensor, ctx: GraphContext,
                batch: dict | None = None) -> Tensor:
        u = self.shared_users(users)[: self.max_users]
        t = F.normalize(encoded.users[self.target][u], dim=1)
        if u.numel() < 2:
            return t.sum() * 0
        labels = torch.arange(u.numel(), device=t.device)
        loss = 0.0
        for s in self.sources:
            logits = t @ F.normalize(encoded.users[s][u], dim=1).t() / self.temperature
            loss = loss + F.cross_entropy(logits, labels)
        return self.weight * loss


def info_nce(a: Tensor, b: Tensor, temperature: float) -> Tensor:
    """InfoNCE of row ``k`` of ``a`` against row ``k`` of ``b``, the other rows of ``b`` as negatives."""
    a, b = F.normalize(a, dim=1), F.normalize(b, dim=1)
    logits = a @ b.t() / temperature
    return F.cross_entropy(logits, torch.arange(a.size(0), device=a.device))


@register_alignment("graph-contrastive")
class GraphContrastive(Alignment):
    r"""Contrast each node's joint-graph embedding with its single-domain-graph embedding.

    Graph contrastive learning in the manner of SGL (Wu et al., "Self-supervised Graph
    Learning for Recommendation", SIGIR 2021), with the cross-domain structure as the
    augmentation: one view of a node is its LightGCN embedding on the joint graph
    (shared users bridging the domains), the other its embedding on its own domain's
    graph alone. For the step's users and positive items of each domain :math:`d`,

    .. math::
        \mathcal{L} = \sum_d \mathrm{InfoNCE}(Z^{joint}_{U_B}, Z^{d}_{U_B})
                    + \mathrm{InfoNCE}(E^{joint}_{I_B}, E^{d}_{I_B})

    so that what a shared user reveals elsewhere shapes the embedding while the
    node stays recognisable from its own domain alone. Needs the ``lightgcn``
    encoder with ``views="dual"``.

    Args:
        weight (float): Loss weight. (default: 0.1)
        temperature (float): InfoNCE temperature. (default: 0.2)
        max_nodes (int): At most this many users (and items) per domain and step. (default: 4096)
        domains (str): ``"all"`` or ``"target"``: whose nodes are contrasted. (default: ``"all"``)
    """

    def __init__(self, weight: float = 0.1, temperature: float = 0.2, max_nodes: int = 4096,
                 domains: str = "all") -> None:
        super().__init__(weight)
        self.temperature, self.max_nodes, self.domains = temperature, max_nodes, domains

    def forward(self, encoded: Encoded, users: Tensor, ctx: GraphContext,
                batch: dict | None = None) -> Tensor:
        if not encoded.aux:
            raise ValueError("The graph-contrastive alignment needs single-domain views: use "
                             "encoder='lightgcn' with encoder_options={'views': 'dual'}.")
        loss = encoded.items[ctx.target].sum() * 0
        for d, (u, pos, _) in (batch or {}).items():
            if self.domains == "target" and d != ctx.target:
                continue
            u = torch.unique(u)[: self.max_nodes]
            i = torch.unique(pos)[: self.max_nodes]
            loss = loss + info_nce(encoded.users[d][u], encoded.aux[f"users:{d}"][u], self.temperature)
            loss = loss + info_nce(encoded.items[d][i], encoded.aux[f"items:{d}"][i], self.temperature)
        return self.weight * loss
