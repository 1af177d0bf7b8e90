"""LightGCN propagation over the cross-domain graph, with one user view per domain."""
from __future__ import annotations

import torch
from torch import nn

from cdgraph.nn.base import Encoded, Encoder, GraphContext, init_table, register_encoder
from cdgraph.graph.sampling import SampledGraph


@register_encoder("lightgcn")
class LightGCNEncoder(Encoder):
    r"""LightGCN (He et al., SIGIR 2020, arXiv:2002.02126) on the joint cross-domain graph.

    Users (one shared table :math:`S`) and the items of every domain propagate
    without weights or non-linearities over the symmetric-normalised joint
    adjacency :math:`\tilde A = D^{-1/2} A D^{-1/2}`:

    .. math::
        E^{(l+1)} = \tilde A E^{(l)}, \qquad
        E = \frac{1}{L+1}\sum_{l=0}^{L} E^{(l)}

    Items of domain :math:`d` get :math:`E_d`. A user gets one view per domain:

    * ``views="joint"``: every view is the joint embedding (plain LightGCN on the
      joint graph, shared users bridging the domains);
    * ``views="split"``: view :math:`d` keeps only what the user gathers from
      domain :math:`d`'s items at each layer (normalised by the user's degree in
      :math:`d`), on top of the shared layer-0 embedding (plus a domain-specific
      table :math:`P_d` when ``specific=True``):
      :math:`X_d = \frac{1}{L+1}\big(S + P_d + \sum_{l=1}^{L} \tilde A^{(d)}_{UI} E_d^{(l-1)}\big)`.
      A fusion head then learns how much each domain's evidence should count;
    * ``views="dual"``: views as with ``"joint"``; in addition every domain is
      propagated on its own graph alone (same tables, its own normalisation), and
      those single-domain embeddings go to ``Encoded.aux`` (``"users:<d>"``,
      ``"items:<d>"``) for the ``graph-contrastive`` alignment loss.

    Args:
        dim (int): Embedding size. (default: 64)
        layers (int): Propagation layers :math:`L`. (default: 3)
        views (str): ``"joint"``, ``"split"`` or ``"dual"``; ``"split"`` gives a fusion head
            distinct per-domain views. (default: ``"joint"``)
        specific (bool): Add a domain-specific user table per domain. (default: False)
        graph (str): ``"joint"`` (all domains) or ``"target"`` (the target domain
            only: a single-domain LightGCN). (default: ``"joint"``)
    """

    def __init__(self, dim: int = 64, layers: int = 3, views: str = "joint", specific: bool = False,
                 graph: str = "joint") -> None:
        super().__init__(dim, layers)
        if views not in ("split", "joint", "dual"):
            raise ValueError(f"views must be 'split', 'joint' or 'dual', got {views!r}.")
        if graph not in ("joint", "target"):
            raise ValueError(f"graph must be 'joint' or 'target', got {graph!r}.")
        self.views, self.specific, self.graph = views, specific, graph

    def setup(self, ctx: GraphContext) -> None:
        self.domains = [ctx.target] if self.graph == "target" else list(ctx.domains)
        self.all_domains = list(ctx.domains)
        self.user = init_table(ctx.num_users, self.dim)
        self.item = nn.ParameterDict({d: init_table(ctx.num_items[d], self.dim) for d in self.domains})
        self.user_specific = nn.ParameterDict(
            {d: init_table(ctx.num_users, self.dim) for d in self.domains} if self.specific else {})

    def forward(self, ctx: GraphContext) -> Encoded:
        joint = ctx.blocks(joint=True) if len(self.domains) > 1 else ctx.blocks(joint=False)
        users, items = self.user, {d: self.item[d] for d in self.domains}
        user_sum, item_sum = users, dict(items)
        split_sum = None
        if self.views == "split":  # own-degree normalisation = joint one rescaled per user
            rescale = self._rescale(ctx)
            split_sum = {d: 0.0 for d in self.domains}
        for _ in range(self.layers):
            parts = {d: joint[d].users_from_items(items[d]) for d in self.domains}
            if split_sum is not None:
                split_sum = {d: split_sum[d] + rescale[d] * parts[d] for d in self.domains}
            new_users = sum(parts.values())
            items = {d: joint[d].items_from_users(users) for d in self.domains}
            users = new_users
            user_sum = user_sum + users
            item_sum = {d: item_sum[d] + items[d] for d in self.domains}
        scale = 1.0 / (self.layers + 1)
        items_out = {d: item_sum[d] * scale for d in self.domains}
        if split_sum is None:
            views = {d: user_sum * scale for d in self.domains}
        else:
            views = {d: (self.user + split_sum[d]) * scale for d in self.domains}
        aux = self._single_domain(ctx) if self.views == "dual" else {}
        if self.specific:
            views = {d: views[d] + self.user_specific[d] * scale for d in self.domains}
        # a single-domain encoder still answers for every domain (with its one view)
        views = {d: views.get(d, views[self.domains[0]]) for d in self.all_domains}
        ego_users = {d: self.user_specific[d] if self.specific else self.user for d in self.domains}
        ego_users = {d: ego_users.get(d, self.user) for d in self.all_domains}
        return Encoded(views, items_out, ego_users, {d: self.item[d] for d in self.domains}, aux)

    def sampled_domains(self, ctx: GraphContext) -> list[str]:
        if self.views != "joint" or self.specific:
            raise ValueError("Mini-batch training (neighbors=...) supports the lightgcn encoder with "
                             f"views='joint' and specific=False; this one has views={self.views!r}, "
                             f"specific={self.specific}.")
        return [ctx.target] if self.graph == "target" else list(ctx.domains)

    def forward_sampled(self, ctx: GraphContext, sample: SampledGraph) -> Encoded:
        """LightGCN on a sampled subgraph (see :mod:`cdgraph.graph.sampling`)."""
        domains = self.sampled_domains(ctx)
        nodes, n_users = sample.nodes, ctx.num_users
        parts, where = [], []
        is_user = nodes < n_users
        parts.append(self.user[nodes[is_user]])
        where.append(is_user.nonzero().squeeze(1))
        start = n_users
        for d in domains:
            mine = (nodes >= start) & (nodes < start + ctx.num_items[d])
            parts.append(self.item[d][nodes[mine] - start])
            where.append(mine.nonzero().squeeze(1))
            start += ctx.num_items[d]
        h = torch.zeros(nodes.numel(), self.dim, device=nodes.device).index_add(
            0, torch.cat(where), torch.cat(parts))
        seeds = sample.num_seeds
        ego, total = h[:seeds], h[:seeds]
        for block in reversed(range(len(sample.blocks))):
            h = sample.propagate(h, block)
            total = total + h[:seeds]
        out = total / (len(sample.blocks) + 1)
        users, ego_users = out[:sample.num_users], ego[:sample.num_users]
        items = {d: out[a:b] for d, (a, b) in sample.items.items()}
        ego_items = {d: ego[a:b] for d, (a, b) in sample.items.items()}
        views = {d: users for d in ctx.domains}
        return Encoded(views, items, {d: ego_users for d in ctx.domains}, ego_items)

    def _single_domain(self, ctx: GraphContext) -> dict[str, torch.Tensor]:
        """Each domain propagated on its own graph: the other view for graph-contrastive learning."""
        own, out = ctx.blocks(joint=False), {}
        for d in self.domains:
            users, items = self.user, self.item[d]
            user_sum, item_sum = users, items
            for _ in range(self.layers):
                users, items = own[d].users_from_items(items), own[d].items_from_users(users)
                user_sum, item_sum = user_sum + users, item_sum + items
            out[f"users:{d}"] = user_sum / (self.layers + 1)
            out[f"items:{d}"] = item_sum / (self.layers + 1)
        return out

    def _rescale(self, ctx: GraphContext) -> dict[str, torch.Tensor]:
        """``sqrt(deg_all(u) / deg_d(u))``: turns a joint-normalised product into a per-domain one."""
        deg = {d: ctx.user_degree(d).float() for d in self.domains}
        total = sum(deg.values())
        return {d: torch.where(deg[d] > 0, (total / deg[d].clamp(min=1)).sqrt(), torch.zeros_like(total))
                .unsqueeze(1) for d in self.domains}

    def __repr__(self) -> str:
        return (f"LightGCNEncoder(dim={self.dim}, layers={self.layers}, views={self.views!r}, "
                f"specific={self.specific}, graph={self.graph!r})")
