r"""PPGN: Preference Propagation GraphNet (Zhao, Li and Fu, CIKM 2019).

Cheng Zhao, Chenliang Li and Cong Fu, "Cross-Domain Recommendation via Preference
Propagation GraphNet", CIKM 2019. See :class:`PPGNEncoder` for the propagation
formula and :func:`cdgraph.models.published.ppgn` for the configuration (scorer, loss, multi-task weights).
"""
from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from cdgraph.graph.context import GraphContext
from cdgraph.nn.base import Encoded, Encoder, init_table, register_encoder

__all__ = ["LayerWeight", "PPGNEncoder"]


class LayerWeight(nn.Module):
    r"""A layer's weight matrix :math:`W`, applied as ``x @ W.T``.

    ``scale=None``: a free matrix, Xavier-initialised. ``scale=eps``: the same set of
    matrices parametrised as :math:`W = I + \epsilon V` with :math:`V` starting at 0,
    so that under Adam :math:`W` moves about :math:`\epsilon` times as fast as the
    embeddings (see :class:`PPGNEncoder`).
    """

    def __init__(self, dim: int, scale: float | None) -> None:
        super().__init__()
        self.scale = scale
        if scale is None:
            self.weight = nn.Parameter(nn.init.xavier_uniform_(torch.empty(dim, dim)))
        else:
            self.delta = nn.Parameter(torch.zeros(dim, dim))
            self.register_buffer("eye", torch.eye(dim), persistent=False)

    @property
    def matrix(self) -> Tensor:
        """The effective :math:`W` (``[out, in]``)."""
        return self.weight if self.scale is None else self.eye + self.scale * self.delta

    def forward(self, x: Tensor) -> Tensor:
        return x @ self.matrix.t()


@register_encoder("ppgn")
class PPGNEncoder(Encoder):
    r"""Preference Propagation GraphNet encoder (Cheng Zhao, Chenliang Li, Cong Fu,
    "Cross-Domain Recommendation via Preference Propagation GraphNet", CIKM 2019).

    One joint user-item graph (the paper's cross-domain preference matrix) holds the
    interactions of every domain; users are shared, so preferences propagate from one
    domain's items to the other's through them. With :math:`E^{(0)}` the stacked
    embedding tables (one user table, one item table per domain) and
    :math:`\tilde L = D^{-1/2} A D^{-1/2}` the symmetric-normalised adjacency of the
    joint graph, every propagation layer has its own weight matrix and a non-linearity:

    .. math::
        E^{(l+1)} = \sigma\big((\tilde L + I)\, E^{(l)} W^{(l)}\big), \qquad l = 0, \dots, L-1

    and the final representation of a node concatenates all layers' outputs:

    .. math::
        e^{*} = e^{(0)} \,\Vert\, e^{(1)} \,\Vert\, \cdots \,\Vert\, e^{(L)} \in \mathbb{R}^{k (L+1)}

    so :attr:`out_dim` is ``dim * (layers + 1)``. :math:`\sigma` is LeakyReLU
    (``negative_slope`` 0.2, the authors' released code). :math:`\tilde L` comes from
    ``ctx.blocks(joint=True)``: the user degree counts the edges of every domain, so the
    per-domain CSR blocks together are exactly the joint graph's normalised adjacency,
    and the products run on them (``users_from_items`` / ``items_from_users``).
    Every domain's user view is the same joint representation (one user node per
    person); the prediction layers are the scorer's (see :func:`cdgraph.models.published.ppgn`).

    Two options change how the formula is realised (both defaults chosen on validation):

    * ``self_loop``: ``"identity"`` is the printed :math:`\tilde L + I` (self weight 1,
      neighbours :math:`1/\sqrt{d_u d_i}`); ``"normalized"`` (default) normalises the
      self-looped graph, :math:`\tilde D^{-1/2}(A + I)\tilde D^{-1/2}` with
      :math:`\tilde D = D + I` (the renormalisation of Kipf & Welling; the authors'
      code also normalises :math:`A + I`, by rows). With weight 1 on itself a node's
      free embedding dominates every layer and training memorises.
    * ``weight_scale``: ``None`` trains free Xavier-initialised :math:`W^{(l)}`; a number
      :math:`\epsilon` (default 0.05) writes the same matrices as
      :math:`W^{(l)} = I + \epsilon V^{(l)}`, :math:`V^{(l)}` starting at 0, so that
      under Adam they move about :math:`\epsilon` times as fast as the embeddings
      (free matrices at the embeddings' learning rate drift within a few epochs).

    Args:
        dim (int): Embedding size :math:`k` of every layer. (default: 64)
        layers (int): Propagation layers :math:`L`. (default: 3)
        negative_slope (float): Slope of the LeakyReLU :math:`\sigma`. (default: 0.2)
        dropout (float): Message dropout on each layer's output while training (the
            authors' code uses 0.1). (default: 0.0)
        self_loop (str): ``"normalized"`` or ``"identity"`` (see above). (default: ``"normalized"``)
        weight_scale (float, optional): :math:`\epsilon` of :math:`W = I + \epsilon V`, or
            None for free matrices. (default: 0.05)
    """

    def __init__(self, dim: int = 64, layers: int = 3, negative_slope: float = 0.2,
                 dropout: float = 0.0, self_loop: str = "normalized", weight_scale: float | None = 0.05) -> None:
        super().__init__(dim, layers)
        if self_loop not in ("identity", "normalized"):
            raise ValueError(f"self_loop must be 'identity' or 'normalized', got {self_loop!r}.")
        if weight_scale is not None and weight_scale <= 0:
            raise ValueError(f"weight_scale must be positive or None, got {weight_scale!r}.")
        self.negative_slope, self.dropout, self.self_loop = negative_slope, dropout, self_loop
        self.weight_scale = weight_scale

    def setup(self, ctx: GraphContext) -> None:
        self.domains = list(ctx.domains)
        self.user = init_table(ctx.num_users, self.dim)
        self.item = nn.ParameterDict({d: init_table(ctx.num_items[d], self.dim) for d in self.domains})
        self.transforms = nn.ModuleList(LayerWeight(self.dim, self.weight_scale) for _ in range(self.layers))
        self.act = nn.LeakyReLU(self.negative_slope)
        self.drop = nn.Dropout(self.dropout)
        if self.self_loop == "normalized":  # D~^-1/2 (A + I) D~^-1/2 with D~ = D + I
            deg_u = sum(ctx.user_degree(d).float() for d in self.domains)
            self.register_buffer("user_scale", (deg_u / (deg_u + 1)).sqrt().unsqueeze(1), persistent=False)
            self.register_buffer("user_self", (1 / (deg_u + 1)).unsqueeze(1), persistent=False)
            for d in self.domains:
                deg_i = torch.from_numpy(np.bincount(ctx.edges[d][1], minlength=ctx.num_items[d])).float()
                self.register_buffer(f"item_scale_{d}", (deg_i / (deg_i + 1)).sqrt().unsqueeze(1).to(ctx.device),
                                     persistent=False)
                self.register_buffer(f"item_self_{d}", (1 / (deg_i + 1)).unsqueeze(1).to(ctx.device),
                                     persistent=False)

    def propagate(self, ctx: GraphContext) -> tuple[list[Tensor], list[dict[str, Tensor]]]:
        """Every layer's user and item embeddings, layer 0 first."""
        blocks = ctx.blocks(joint=True)
        users, items = self.user, {d: self.item[d] for d in self.domains}
        user_layers, item_layers = [users], [items]
        for lin in self.transforms:
            new_users, new_items = self._aggregate(blocks, users, items)
            users = self.drop(self.act(lin(new_users)))
            items = {d: self.drop(self.act(lin(new_items[d]))) for d in self.domains}
            user_layers.append(users)
            item_layers.append(items)
        return user_layers, item_layers

    def _aggregate(self, blocks: dict, users: Tensor, items: dict[str, Tensor]
                   ) -> tuple[Tensor, dict[str, Tensor]]:
        """One application of the propagation matrix (L~ + I, or its renormalised form)."""
        if self.self_loop == "identity":  # (L~ + I) E: the normalised neighbourhood plus the node itself
            new_users = users + sum(blocks[d].users_from_items(items[d]) for d in self.domains)
            return new_users, {d: items[d] + blocks[d].items_from_users(users) for d in self.domains}
        # value 1/sqrt(du di) rescaled to 1/sqrt((du+1)(di+1)); self weight 1/(deg+1)
        scaled_items = {d: items[d] * getattr(self, f"item_scale_{d}") for d in self.domains}
        new_users = (users * self.user_self + self.user_scale *
                     sum(blocks[d].users_from_items(scaled_items[d]) for d in self.domains))
        scaled_users = users * self.user_scale
        new_items = {d: items[d] * getattr(self, f"item_self_{d}") + getattr(self, f"item_scale_{d}") *
                     blocks[d].items_from_users(scaled_users) for d in self.domains}
        return new_users, new_items

    def forward(self, ctx: GraphContext) -> Encoded:
        user_layers, item_layers = self.propagate(ctx)
        users = torch.cat(user_layers, dim=1)
        items = {d: torch.cat([layer[d] for layer in item_layers], dim=1) for d in self.domains}
        return Encoded({d: users for d in self.domains}, items,
                       {d: self.user for d in self.domains}, {d: self.item[d] for d in self.domains})

    @property
    def out_dim(self) -> int:
        return self.dim * (self.layers + 1)

    def __repr__(self) -> str:
        return (f"PPGNEncoder(dim={self.dim}, layers={self.layers}, negative_slope={self.negative_slope}, "
                f"dropout={self.dropout}, self_loop={self.self_loop!r}, weight_scale={self.weight_scale})")
