"""The interfaces every encoder, fusion head, scorer and alignment loss implements.

Components are found by name through one :class:`~cdgraph.registry.Registry`
per kind (``ENCODERS``, ``FUSIONS``, ``SCORERS``, ``ALIGNMENTS``); a user's own
subclass registered with the matching decorator plugs into
:class:`~cdgraph.models.GraphRecommender` without any change to cdgraph.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch
from torch import Tensor, nn

from cdgraph.registry import Registry
from cdgraph.graph.context import GraphContext

if TYPE_CHECKING:
    from cdgraph.graph.sampling import SampledGraph


@dataclass
class Encoded:
    """An encoder's output: one user view per domain and item embeddings per domain.

    ``ego_users`` / ``ego_items`` are the layer-0 tables that an L2 penalty on a
    batch's embeddings applies to.
    """

    users: dict[str, Tensor]
    items: dict[str, Tensor]
    ego_users: dict[str, Tensor]
    ego_items: dict[str, Tensor]
    aux: dict[str, Tensor] = field(default_factory=dict)


class Encoder(nn.Module):
    """Base class of encoders: learn user views and item embeddings from the graph.

    Subclasses create their parameters in :meth:`setup` (sizes come from the
    graph) and return an :class:`Encoded` from :meth:`forward`.

    An encoder that reads item content (``GraphContext.content``) says so with
    :attr:`takes_content`; a graph model with item content refuses the others.

    Args:
        dim (int): Embedding size.
        layers (int): Number of propagation layers.
    """

    #: Whether the encoder uses the item content vectors of the context.
    takes_content: bool = False

    def __init__(self, dim: int = 64, layers: int = 3) -> None:
        super().__init__()
        self.dim, self.layers = dim, layers

    def setup(self, ctx: GraphContext) -> None:
        raise NotImplementedError

    def forward(self, ctx: GraphContext) -> Encoded:  # pragma: no cover - interface
        raise NotImplementedError

    def regularization(self) -> Tensor | None:
        """An extra loss term the encoder wants (e.g. weight sharing), or None."""
        return None

    def sampled_domains(self, ctx: GraphContext) -> list[str]:
        """Domains whose graph :meth:`forward_sampled` propagates over (mini-batch mode)."""
        raise ValueError(f"The {type(self).__name__} encoder has no mini-batch mode (neighbors=...); "
                         f"use the 'lightgcn' encoder with views='joint', or full-batch training.")

    def forward_sampled(self, ctx: GraphContext, sample: "SampledGraph") -> Encoded:
        """:meth:`forward` on a sampled subgraph, in the sample's local positions."""
        self.sampled_domains(ctx)
        raise NotImplementedError

    @property
    def out_dim(self) -> int:
        return self.dim

    def __repr__(self) -> str:
        return f"{type(self).__name__}(dim={self.dim}, layers={self.layers})"


class Fusion(nn.Module):
    """Base class of fusion heads: combine a user's domain views into one target view.

    ``forward(views, users)`` gets the views ordered target first, then the
    sources, each ``[n, dim]`` for the users ``users`` ``[n]``; returns ``[n, out_dim]``.
    """

    def setup(self, ctx: GraphContext, dim: int) -> None:
        self.dim = dim
        self.num_views = len(ctx.domains)

    @property
    def out_dim(self) -> int:
        return self.dim

    def forward(self, views: list[Tensor], users: Tensor) -> Tensor:  # pragma: no cover
        raise NotImplementedError


class Scorer(nn.Module):
    """Base class of scorers: ``forward(user_emb [n, d], item_emb [n, m, d]) -> [n, m]``.

    ``score_all(user_emb [n, d], items [I, d]) -> [n, I]`` ranks whole catalogues;
    ``score_candidates(user_emb [n, d], items [I, d], candidates [n, m]) -> [n, m]`` scores
    each user's own candidate items (sampled evaluation).
    """

    classification: bool = False

    def setup(self, user_dim: int, item_dim: int) -> None:
        self.user_dim, self.item_dim = user_dim, item_dim

    def forward(self, users: Tensor, items: Tensor) -> Tensor:  # pragma: no cover
        raise NotImplementedError

    def score_all(self, users: Tensor, items: Tensor) -> Tensor:
        n, m = users.size(0), items.size(0)
        return self.forward(users, items.unsqueeze(0).expand(n, m, -1))

    def score_candidates(self, users: Tensor, items: Tensor, candidates: Tensor) -> Tensor:
        return self.forward(users, items[candidates])


class Alignment(nn.Module):
    """Base class of alignment losses between a user's domain views.

    ``forward(encoded, users, ctx, batch=None) -> Tensor`` (a scalar, already weighted);
    ``batch`` maps each domain to its ``(users, positives, negatives)`` of the step.

    Args:
        weight (float): Multiplier of the loss.
    """

    def __init__(self, weight: float = 0.1) -> None:
        super().__init__()
        self.weight = weight

    def setup(self, ctx: GraphContext, dim: int, encoder: Encoder) -> None:
        self.ctx_domains = ctx.domains

    def forward(self, encoded: Encoded, users: Tensor, ctx: GraphContext,
                batch: dict | None = None) -> Tensor:  # pragma: no cover
        raise NotImplementedError


ENCODERS: Registry[Encoder] = Registry("encoder", Encoder)
FUSIONS: Registry[Fusion] = Registry("fusion head", Fusion)
SCORERS: Registry[Scorer] = Registry("scorer", Scorer)
ALIGNMENTS: Registry[Alignment] = Registry("alignment loss", Alignment)

register_encoder = ENCODERS.register
register_fusion = FUSIONS.register
register_scorer = SCORERS.register
register_alignment = ALIGNMENTS.register


def init_table(rows: int, dim: int, std: float = 0.1) -> nn.Parameter:
    """An embedding table initialised N(0, std^2) (LightGCN's initialisation)."""
    return nn.Parameter(torch.randn(rows, dim) * std)
