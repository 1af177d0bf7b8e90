"""Per-domain graph encoders with bi-directional transfer of shared users (BiTGCF)."""
from __future__ import annotations

import torch
from torch import nn

from cdgraph.nn.base import Encoded, Encoder, GraphContext, init_table, register_encoder


@register_encoder("bitgcf")
class BiTGCFEncoder(Encoder):
    r"""Bi-directional transfer graph collaborative filtering (Liu et al., CIKM 2020).

    Each domain :math:`d` has its own user table and propagates LightGCN-style
    on its own normalised bipartite graph. After every layer, the views of a user
    are mixed across domains by the transfer module, weighted by how much the user
    did in each domain:

    .. math::
        \hat e_u^{d,(l)} = \lambda\, e_u^{d,(l)} + (1-\lambda)\sum_{d' \ne d}
            w_{u,d'}\, e_u^{d',(l)}, \qquad
        w_{u,d'} = \frac{n_u^{d'}}{\sum_{d''} n_u^{d''}}

    where :math:`n_u^d` is the user's number of interactions in :math:`d` and
    :math:`\lambda` weighs the user's own domain. Users absent from every other
    domain keep their own view. The final view of each domain is the mean over layers.
    The paper's GCF layers carry weight matrices; this version keeps LightGCN's
    weight-free layers (faster and, in our measurements, no worse).

    Args:
        dim (int): Embedding size. (default: 64)
        layers (int): Propagation layers. (default: 3)
        keep (float): :math:`\lambda`, the weight of the user's own domain. (default: 0.5)
    """

    def __init__(self, dim: int = 64, layers: int = 3, keep: float = 0.5) -> None:
        super().__init__(dim, layers)
        self.keep = keep

    def setup(self, ctx: GraphContext) -> None:
        self.domains = list(ctx.domains)
        self.user = nn.ParameterDict({d: init_table(ctx.num_users, self.dim) for d in self.domains})
        self.item = nn.ParameterDict({d: init_table(ctx.num_items[d], self.dim) for d in self.domains})
        deg = torch.stack([ctx.user_degree(d).float() for d in self.domains], dim=1)  # [U, D]
        self.register_buffer("share", deg / deg.sum(1, keepdim=True).clamp(min=1), persistent=False)

    def transfer(self, views: list[torch.Tensor]) -> list[torch.Tensor]:
        out = []
        for k, own in enumerate(views):
            others = [j for j in range(len(views)) if j != k]
            w = self.share[:, others]
            total = w.sum(1, keepdim=True)
            mixed = sum(w[:, [n]] * views[j] for n, j in enumerate(others)) / total.clamp(min=1e-12)
            active = (total > 0).float()
            out.append(own * (1 - active) + (self.keep * own + (1 - self.keep) * mixed) * active)
        return out

    def forward(self, ctx: GraphContext) -> Encoded:
        blocks = ctx.blocks(joint=False)
        users = [self.user[d] for d in self.domains]
        items = [self.item[d] for d in self.domains]
        user_sum, item_sum = list(users), list(items)
        for _ in range(self.layers):
            new_users = [blocks[d].users_from_items(items[k]) for k, d in enumerate(self.domains)]
            items = [blocks[d].items_from_users(users[k]) for k, d in enumerate(self.domains)]
            users = self.transfer(new_users)
            user_sum = [a + b for a, b in zip(user_sum, users)]
            item_sum = [a + b for a, b in zip(item_sum, items)]
        s = 1.0 / (self.layers + 1)
        return Encoded({d: user_sum[k] * s for k, d in enumerate(self.domains)},
                       {d: item_sum[k] * s for k, d in enumerate(self.domains)},
                       {d: self.user[d] for d in self.domains}, {d: self.item[d] for d in self.domains})
