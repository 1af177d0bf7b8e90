"""Fusion heads: combine a user's domain views (target first) into one target-domain view."""
from __future__ import annotations

import torch
from torch import Tensor, nn

from cdgraph.nn.base import Fusion, GraphContext, register_fusion


class _TargetBiased(Fusion):
    """A fusion head whose view weights start at ``init_target`` for the target view."""

    def __init__(self, init_target: float = 0.5) -> None:
        super().__init__()
        self.init_target = init_target

    def initial_logits(self) -> Tensor:
        """Log-weights: ``init_target`` for the target, the rest shared by the sources."""
        rest = (1 - self.init_target) / max(1, self.num_views - 1)
        return torch.tensor([self.init_target] + [rest] * (self.num_views - 1)).clamp(1e-4).log()


@register_fusion("target")
class TargetOnly(Fusion):
    """Use the target-domain view alone (no fusion): the single-domain yardstick."""

    def forward(self, views: list[Tensor], users: Tensor) -> Tensor:
        return views[0]


@register_fusion("weighted")
class WeightedAverage(_TargetBiased):
    r"""Learnable weighted average of the views.

    With two domains this is :math:`X_f = \alpha X_s + (1-\alpha) X_t`; with more,
    the weights are a softmax over one learnable logit per domain.

    Args:
        init_target (float): Initial weight of the target view. (default: 0.5)
    """

    def setup(self, ctx: GraphContext, dim: int) -> None:
        super().setup(ctx, dim)
        self.logits = nn.Parameter(self.initial_logits())

    @property
    def weights(self) -> Tensor:
        """Current weight of each view (target first)."""
        return torch.softmax(self.logits, 0)

    def forward(self, views: list[Tensor], users: Tensor) -> Tensor:
        w = self.weights
        return sum(w[k] * v for k, v in enumerate(views))


@register_fusion("concat")
class ConcatMLP(Fusion):
    """Concatenate the views and map them back to ``dim`` with a two-layer MLP.

    The MLP starts near the mean of the views (a residual mean is added), so
    training begins from a sensible fusion.

    Args:
        hidden (int, optional): Hidden width. (default: ``dim``)
        dropout (float): Dropout on the hidden layer. (default: 0.0)
    """

    def __init__(self, hidden: int | None = None, dropout: float = 0.0) -> None:
        super().__init__()
        self.hidden, self.dropout = hidden, dropout

    def setup(self, ctx: GraphContext, dim: int) -> None:
        super().setup(ctx, dim)
        hidden = self.hidden or dim
        self.mlp = nn.Sequential(nn.Linear(dim * self.num_views, hidden), nn.ReLU(),
                                 nn.Dropout(self.dropout), nn.Linear(hidden, dim))
        nn.init.zeros_(self.mlp[-1].weight)
        nn.init.zeros_(self.mlp[-1].bias)

    def forward(self, views: list[Tensor], users: Tensor) -> Tensor:
        return torch.stack(views).mean(0) + self.mlp(torch.cat(views, dim=-1))


@register_fusion("attention")
class ElementwiseAttention(_TargetBiased):
    r"""Per-user, per-dimension attention over the views (GA-DTCDR-style gating).

    Zhu et al., "A Graphical and Attentional Framework for Dual-Target Cross-Domain
    Recommendation", IJCAI 2020, combine domain embeddings with element-wise
    attention weights. Here the weights are computed from the user's own views:

    .. math::
        a_{u} = \mathrm{softmax}_d\big(W [x_u^{1}; \dots; x_u^{D}] + b\big) \in \mathbb{R}^{D\times k},
        \qquad x_u = \sum_d a_{u,d} \odot x_u^{d}

    The weights start uniform (``W = 0``) with a bias toward the target view.

    Args:
        init_target (float): Initial weight of the target view. (default: 0.5)
    """

    def setup(self, ctx: GraphContext, dim: int) -> None:
        super().setup(ctx, dim)
        self.gate = nn.Linear(dim * self.num_views, dim * self.num_views)
        nn.init.zeros_(self.gate.weight)
        init = self.initial_logits()
        with torch.no_grad():
            self.gate.bias.copy_(init.repeat_interleave(dim))

    def forward(self, views: list[Tensor], users: Tensor) -> Tensor:
        stacked = torch.stack(views, dim=1)  # [n, D, k]
        logits = self.gate(stacked.flatten(1)).view_as(stacked)
        return (torch.softmax(logits, dim=1) * stacked).sum(1)
