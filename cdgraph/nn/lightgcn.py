"""LightGCN propagation over the cross-domain graph, with one user view per domain and,
optionally, item content in the layer-0 item embeddings."""
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

    **Item content** (when the context carries content vectors :math:`c_i`, unit rows, see
    :mod:`cdgraph.graph.content`): an item's layer-0 embedding adds a projection of its
    content, shared by every domain so that content puts all domains' items in one space
    (the content-enhanced embedding of knowledge-fusion recommenders, e.g. the item-side
    LLM embeddings of LLMCDSR, Xin et al., TOIS 2025):

    .. math::
        E^{(0)}_i = m_i\, \theta_i + W c_i, \qquad W \in \mathbb{R}^{dim \times width},

    with :math:`m_i = 1` when item :math:`i` has a training interaction and 0 otherwise, so
    that a new item is placed by its content alone (its id embedding :math:`\theta_i` would
    be untrained noise). Users get content through propagation (a user's layer-1 embedding
    gathers its items' :math:`E^{(0)}`). The content bridge's item-item edges
    (``GraphContext.item_edges``) join the propagation on the joint graph, normalised with
    degrees that count them, :math:`\tilde A_{ij} = 1/\sqrt{d_i d_j}`. A node with no edge
    at all keeps :math:`E_v = E^{(0)}_v` rather than the layer mean :math:`E^{(0)}_v / (L+1)`,
    so that a new item's embedding is on the scale of trained ones.

    Args:
        dim (int): Embedding size. (default: 64)
        layers (int): Propagation layers :math:`L`. (default: 3)
        views (str): ``"joint"``, ``"split"`` or ``"dual"``; ``"split"`` gives a fusion head
            distinct per-domain views. (default: ``"joint"``)
        specific (bool): Add a domain-specific user table per domain. (default: False)
        graph (str): ``"joint"`` (all domains) or ``"target"`` (the target domain
            only: a single-domain LightGCN). (default: ``"joint"``)
        content (bool or str): ``"auto"``: use item content when the context has some
            (a :class:`~cdgraph.models.GraphRecommender` with ``content=...``); ``True``:
            require it; ``False``: ignore it. (default: ``"auto"``)
    """

    def __init__(self, dim: int = 64, layers: int = 3, views: str = "joint", specific: bool = False,
                 graph: str = "joint", content: bool | str = "auto") -> None:
        super().__init__(dim, layers)
        if views not in ("split", "joint", "dual"):
            raise ValueError(f"views must be 'split', 'joint' or 'dual', got {views!r}.")
        if graph not in ("joint", "target"):
            raise ValueError(f"graph must be 'joint' or 'target', got {graph!r}.")
        if content not in ("auto", True, False):
            raise ValueError(f"content must be 'auto', True or False, got {content!r}.")
        self.views, self.specific, self.graph, self.content = views, specific, graph, content
        self.uses_content = False

    @property
    def takes_content(self) -> bool:  # type: ignore[override]
        return self.content is not False

    def setup(self, ctx: GraphContext) -> None:
        self.domains = [ctx.target] if self.graph == "target" else list(ctx.domains)
        self.all_domains = list(ctx.domains)
        self.user = init_table(ctx.num_users, self.dim)
        self.item = nn.ParameterDict({d: init_table(ctx.num_items[d], self.dim) for d in self.domains})
        self.user_specific = nn.ParameterDict(
            {d: init_table(ctx.num_users, self.dim) for d in self.domains} if self.specific else {})
        if self.content is True and ctx.content is None:
            raise ValueError("The lightgcn encoder has content=True but the graph has no item content: "
                             "give GraphRecommender content='auto' (or columns) on data with item "
                             "features, or drop content=True.")
        self.uses_content = self.content is not False and ctx.content is not None
        if self.uses_content:
            widths = {d: int(ctx.content[d].size(1)) for d in self.domains}
            if len(set(widths.values())) != 1:
                raise ValueError(f"Item content has different widths per domain ({widths}); the content "
                                 f"projection is shared by every domain: give vectors of one width.")
            self.project = nn.Parameter(torch.randn(next(iter(widths.values())), self.dim) * 0.1)

    def forward(self, ctx: GraphContext) -> Encoded:
        joint = ctx.blocks(joint=True) if len(self.domains) > 1 else ctx.blocks(joint=False)
        ego = self._ego_items(ctx)
        users, items = self.user, dict(ego)
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
            items = self._items_from(ctx, joint, users, items)
            users = new_users
            user_sum = user_sum + users
            item_sum = {d: item_sum[d] + items[d] for d in self.domains}
        scale = 1.0 / (self.layers + 1)
        items_out = {d: item_sum[d] * scale for d in self.domains}
        if self.uses_content:  # an item without any edge keeps its layer-0 (content) embedding
            items_out = {d: torch.where(self._isolated(ctx, d).unsqueeze(1), ego[d], items_out[d])
                         for d in self.domains}
        if split_sum is None:
            views = {d: user_sum * scale for d in self.domains}
        else:
            views = {d: (self.user + split_sum[d]) * scale for d in self.domains}
        aux = self._single_domain(ctx, ego) if self.views == "dual" else {}
        if self.specific:
            views = {d: views[d] + self.user_specific[d] * scale for d in self.domains}
        # a single-domain encoder still answers for every domain (with its one view)
        views = {d: views.get(d, views[self.domains[0]]) for d in self.all_domains}
        ego_users = {d: self.user_specific[d] if self.specific else self.user for d in self.domains}
        ego_users = {d: ego_users.get(d, self.user) for d in self.all_domains}
        return Encoded(views, items_out, ego_users, ego, aux)

    def sampled_domains(self, ctx: GraphContext) -> list[str]:
        if self.views != "joint" or self.specific:
            raise ValueError("Mini-batch training (neighbors=...) supports the lightgcn encoder with "
                             f"views='joint' and specific=False; this one has views={self.views!r}, "
                             f"specific={self.specific}.")
        if ctx.item_edges and self.graph == "joint":
            raise ValueError("The content bridge (item-item edges) needs full-batch training; drop "
                             "neighbors=... or content_bridge.")
        return [ctx.target] if self.graph == "target" else list(ctx.domains)

    def forward_sampled(self, ctx: GraphContext, sample: SampledGraph) -> Encoded:
        """LightGCN on a sampled subgraph (see :mod:`cdgraph.graph.sampling`)."""
        domains = self.sampled_domains(ctx)
        nodes, n_users = sample.nodes, ctx.num_users
        parts, where = [], []
        is_user = nodes < n_users
        parts.append(self.user[nodes[is_user]])
        where.append(is_user.nonzero().squeeze(1))
        start, offsets = n_users, {}
        for d in domains:
            mine = (nodes >= start) & (nodes < start + ctx.num_items[d])
            parts.append(self._ego_rows(ctx, d, nodes[mine] - start))
            where.append(mine.nonzero().squeeze(1))
            offsets[d] = start
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
        if self.uses_content:
            items = {d: torch.where(self._isolated(ctx, d)[nodes[a:b] - offsets[d]].unsqueeze(1),
                                    ego_items[d], items[d]) for d, (a, b) in sample.items.items()}
        views = {d: users for d in ctx.domains}
        return Encoded(views, items, {d: ego_users for d in ctx.domains}, ego_items)

    def _ego_items(self, ctx: GraphContext) -> dict[str, torch.Tensor]:
        """Layer-0 item embeddings: the id tables, plus the projected content (see the class)."""
        if not self.uses_content:
            return {d: self.item[d] for d in self.domains}
        return {d: self.item[d] * ctx.item_masks(d)[0].unsqueeze(1).to(self.item[d].dtype)
                + ctx.content[d] @ self.project for d in self.domains}

    def _ego_rows(self, ctx: GraphContext, domain: str, rows: torch.Tensor) -> torch.Tensor:
        """Rows ``rows`` of :meth:`_ego_items`'s table of ``domain``, computed for those rows only."""
        if not self.uses_content:
            return self.item[domain][rows]
        trained = ctx.item_masks(domain)[0][rows].unsqueeze(1).to(self.item[domain].dtype)
        return self.item[domain][rows] * trained + ctx.content[domain][rows] @ self.project

    def _isolated(self, ctx: GraphContext, domain: str) -> torch.Tensor:
        """Items of ``domain`` without any edge in the graph this encoder propagates over."""
        trained, isolated = ctx.item_masks(domain)
        return isolated if len(self.domains) > 1 else ~trained

    def _items_from(self, ctx: GraphContext, blocks: dict, users: torch.Tensor,
                    items: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """One propagation step into the items: from their users, and on the joint graph from
        the items the content bridge joins them to."""
        new = {d: blocks[d].items_from_users(users) for d in self.domains}
        if ctx.item_edges and len(self.domains) > 1:
            for (a, b), block in ctx.item_blocks().items():
                new[a] = new[a] + block.users_from_items(items[b])
                new[b] = new[b] + block.items_from_users(items[a])
        return new

    def _single_domain(self, ctx: GraphContext, ego: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Each domain propagated on its own graph: the other view for graph-contrastive learning."""
        own, out = ctx.blocks(joint=False), {}
        for d in self.domains:
            users, items = self.user, ego[d]
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
                f"specific={self.specific}, graph={self.graph!r}, content={self.content!r})")
