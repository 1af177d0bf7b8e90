r"""GA-DTCDR: graphical and attentional dual-target cross-domain recommendation (Zhu et al., IJCAI 2020).

Feng Zhu, Yan Wang, Chaochao Chen, Guanfeng Liu and Xiaolin Zheng, "A Graphical and
Attentional Framework for Dual-Target Cross-Domain Recommendation", IJCAI 2020,
pp. 3001-3008, doi:10.24963/ijcai.2020/415.

Three parts, as in the paper:

1. a graph embedding of every domain, learned on that domain's graph alone
   (:class:`GADTCDREncoder`, registered as encoder ``"gadtcdr"``);
2. an element-wise attention that combines a shared user's domain embeddings
   (:class:`ElementAttention`, registered as fusion ``"element-attention"``);
3. prediction layers per domain (the target's scorer; see :func:`cdgraph.models.published.gadtcdr`).
"""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from cdgraph.graph.context import GraphContext
from cdgraph.nn.base import (Encoded, Encoder, Fusion, init_table, register_encoder, register_fusion)

__all__ = ["GADTCDREncoder", "ElementAttention"]


@register_encoder("gadtcdr")
class GADTCDREncoder(Encoder):
    r"""One graph embedding per domain, each learned on its own domain's graph (GA-DTCDR's step 1).

    GA-DTCDR (Zhu et al., IJCAI 2020) embeds the users and items of each domain
    :math:`d` with Node2vec on a heterogeneous graph of that domain's ratings and
    content (reviews, tags, profiles). cdgraph's data have no content, so each
    domain's embedding is learned here by LightGCN-style propagation on that domain's
    own user-item graph, normalised by the degrees within the domain
    (``ctx.blocks(joint=False)``), from tables of its own:

    .. math::
        E_d^{(l+1)} = \tilde A_d E_d^{(l)}, \qquad
        U_d = \frac{1}{L+1}\sum_{l=0}^{L} E_{d,U}^{(l)}, \quad
        V_d = \frac{1}{L+1}\sum_{l=0}^{L} E_{d,I}^{(l)}

    with :math:`\tilde A_d = D_d^{-1/2} A_d D_d^{-1/2}`. No information crosses domains
    here: a user's view of domain :math:`d` comes from its domain-:math:`d` interactions
    only, and the domains meet only in the element-wise attention
    (:class:`ElementAttention`). The embeddings are trained end to end with the
    prediction loss instead of Node2vec's unsupervised objective.

    The paper maps each domain's user embedding by a first fully connected layer of
    that domain before the attention; ``project=True`` adds such a map
    :math:`U_d \leftarrow U_d P_d` (:math:`P_d` starting at the identity); it lowered
    validation metrics, so it is off by default.

    Args:
        dim (int): Embedding size. (default: 64)
        layers (int): Propagation layers :math:`L` (0: plain per-domain factors). (default: 2)
        project (bool): Per-domain linear map of the user embeddings. (default: False)
    """

    def __init__(self, dim: int = 64, layers: int = 2, project: bool = False) -> None:
        super().__init__(dim, layers)
        self.project = project

    def setup(self, ctx: GraphContext) -> None:
        self.domains = list(ctx.domains)
        self.user = nn.ParameterDict({d: init_table(ctx.num_users, self.dim) for d in self.domains})
        self.item = nn.ParameterDict({d: init_table(ctx.num_items[d], self.dim) for d in self.domains})
        self.projection = nn.ModuleDict()
        if self.project:
            for d in self.domains:
                self.projection[d] = nn.Linear(self.dim, self.dim, bias=False)
                nn.init.eye_(self.projection[d].weight)

    def forward(self, ctx: GraphContext) -> Encoded:
        blocks = ctx.blocks(joint=False)
        users_out, items_out = {}, {}
        for d in self.domains:
            users, items = self.user[d], self.item[d]
            user_sum, item_sum = users, items
            for _ in range(self.layers):
                users, items = blocks[d].users_from_items(items), blocks[d].items_from_users(users)
                user_sum, item_sum = user_sum + users, item_sum + items
            users_out[d] = user_sum / (self.layers + 1)
            if self.project:
                users_out[d] = self.projection[d](users_out[d])
            items_out[d] = item_sum / (self.layers + 1)
        return Encoded(users_out, items_out, {d: self.user[d] for d in self.domains},
                       {d: self.item[d] for d in self.domains})

    def __repr__(self) -> str:
        return f"GADTCDREncoder(dim={self.dim}, layers={self.layers}, project={self.project})"


@register_fusion("element-attention")
class ElementAttention(Fusion):
    r"""GA-DTCDR's element-wise attention over a user's domain embeddings (Zhu et al., IJCAI 2020).

    Every user :math:`u` and every embedding element :math:`j` has its own weight per
    domain, free parameters normalised over the domains by a softmax, so that they
    sum to one element by element:

    .. math::
        \tilde U_u = \sum_{d} W_{d,u} \odot U_{d,u}, \qquad
        W_{d,uj} = \frac{\exp \theta_{d,uj}}{\sum_{d'} \exp \theta_{d',uj}}

    With two domains this is the paper's :math:`\tilde U = W_t \odot U_t + W_s \odot U_s`,
    :math:`W_s = 1 - W_t` (the authors' code keeps :math:`W_t` unconstrained; the
    softmax also keeps every weight in :math:`[0, 1]`). As in the paper only *common*
    users mix: the weight of a domain in which the user has no training interaction
    is 0 (its embedding there carries no signal), so a user of one domain keeps that
    domain's embedding and a user cold in the target gets the source's. The logits start at ``init_target``
    for the target view (0.5: equal weights).

    Args:
        per_user (bool): One weight matrix row per user, as the paper's
            :math:`W \in \mathbb{R}^{m \times k}`; False shares one weight vector per
            domain across users. (default: True)
        init_target (float): Initial weight of the target view, in (0, 1). (default: 0.5)
        mask_inactive (bool): Zero the weight of domains the user has no interaction in.
            (default: True)
    """

    def __init__(self, per_user: bool = True, init_target: float = 0.5, mask_inactive: bool = True) -> None:
        super().__init__()
        if not 0 < init_target < 1:
            raise ValueError(f"init_target must be in (0, 1), got {init_target!r}.")
        self.per_user, self.init_target, self.mask_inactive = per_user, init_target, mask_inactive

    def setup(self, ctx: GraphContext, dim: int) -> None:
        super().setup(ctx, dim)
        order = [ctx.target] + ctx.sources  # the order of the views (the network's)
        d = len(order)
        rest = (1 - self.init_target) / max(1, d - 1)
        init = torch.tensor([math.log(self.init_target)] + [math.log(rest)] * (d - 1))
        shape = (ctx.num_users, d, dim) if self.per_user else (d, dim)
        init = init.view(d, 1).expand(d, dim)
        self.logits = nn.Parameter(init.expand(shape).clone())
        active = torch.stack([ctx.user_degree(x) > 0 for x in order], dim=1)  # [U, D]
        if not self.mask_inactive:
            active = torch.ones_like(active)
        active[~active.any(1), 0] = True  # a user seen nowhere keeps the target view
        self.register_buffer("active", active, persistent=False)

    def weights(self, users: Tensor) -> Tensor:
        """Attention weights ``[n, D, dim]`` of ``users`` (views target first); they sum to 1 over D."""
        logits = self.logits[users] if self.per_user else self.logits.unsqueeze(0).expand(users.numel(), -1, -1)
        mask = self.active[users].unsqueeze(-1)
        return torch.softmax(logits.masked_fill(~mask, -torch.inf), dim=1)

    def forward(self, views: list[Tensor], users: Tensor) -> Tensor:
        stacked = torch.stack(views, dim=1)  # [n, D, dim]
        return (self.weights(users) * stacked).sum(1)

    def __repr__(self) -> str:
        return (f"ElementAttention(per_user={self.per_user}, init_target={self.init_target}, "
                f"mask_inactive={self.mask_inactive})")
