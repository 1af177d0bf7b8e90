"""Two-tower cross-domain encoder: a joint-graph tower and a target-only tower, side by side."""
from __future__ import annotations

import torch

from cdgraph.nn.base import Encoded, Encoder, GraphContext, register_encoder
from cdgraph.nn.lightgcn import LightGCNEncoder


@register_encoder("two-tower")
class TwoTowerEncoder(Encoder):
    r"""Joint-graph LightGCN and target-only LightGCN with their own tables, concatenated.

    The joint tower (LightGCN, He et al., SIGIR 2020, on the graph where shared users
    bridge all domains) carries what a user's other domains reveal; the target tower
    sees the target domain alone, so target-specific taste is not diluted by the
    sources. A user's and an item's embeddings are the two towers' outputs side by
    side, so a dot-product score is the sum of both towers' scores:

    .. math::
        s(u, i) = \langle z_u^{joint}, e_i^{joint} \rangle + \langle z_u^{t}, e_i^{t} \rangle

    Source-domain items keep only the joint tower (the target tower part is zero).

    Args:
        dim (int): Output size; each tower gets ``dim // 2`` unless ``tower_dim`` is set.
        layers (int): Propagation layers of both towers. (default: 3)
        tower_dim (int, optional): Size of each tower.
    """

    def __init__(self, dim: int = 64, layers: int = 3, tower_dim: int | None = None) -> None:
        super().__init__(dim, layers)
        self.tower_dim = tower_dim or dim // 2
        self.joint = LightGCNEncoder(self.tower_dim, layers, views="joint", graph="joint")
        self.target = LightGCNEncoder(self.tower_dim, layers, views="joint", graph="target")

    @property
    def out_dim(self) -> int:
        return 2 * self.tower_dim

    def setup(self, ctx: GraphContext) -> None:
        self.joint.setup(ctx)
        self.target.setup(ctx)
        self.target_domain = ctx.target

    def forward(self, ctx: GraphContext) -> Encoded:
        a, b = self.joint(ctx), self.target(ctx)
        t = self.target_domain
        users = {d: torch.cat([a.users[d], b.users[t]], 1) for d in a.users}
        items = {d: torch.cat([a.items[d], b.items[t] if d == t else torch.zeros_like(a.items[d])], 1)
                 for d in a.items}
        ego_users = {d: torch.cat([a.ego_users[d], b.ego_users[t]], 1) for d in a.ego_users}
        ego_items = {d: torch.cat([a.ego_items[d], b.ego_items[t] if d == t else
                                   torch.zeros_like(a.ego_items[d])], 1) for d in a.ego_items}
        return Encoded(users, items, ego_users, ego_items)
