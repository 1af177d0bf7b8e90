"""Scorers: turn a user embedding and item embeddings into ranking scores."""
from __future__ import annotations

import warnings

import torch
from torch import Tensor, nn

from cdgraph.nn.base import Scorer, register_scorer


@register_scorer("dot")
class DotScorer(Scorer):
    r"""Inner product :math:`s(u, i) = \langle x_u, e_i \rangle` (matrix factorisation's scorer)."""

    def setup(self, user_dim: int, item_dim: int) -> None:
        if user_dim != item_dim:
            raise ValueError(f"The dot scorer needs users and items of one size; got {user_dim} "
                             f"and {item_dim}. Use the 'mlp' scorer or a fusion head that keeps the size.")
        super().setup(user_dim, item_dim)

    def forward(self, users: Tensor, items: Tensor) -> Tensor:
        return (users.unsqueeze(1) * items).sum(-1)

    def score_all(self, users: Tensor, items: Tensor) -> Tensor:
        return users @ items.t()

    def score_candidates(self, users: Tensor, items: Tensor, candidates: Tensor) -> Tensor:
        return dot_candidates(users, items, candidates)


def dot_candidates(users: Tensor, items: Tensor, candidates: Tensor) -> Tensor:
    """Inner products of each user ``[n, d]`` with its own candidate items: ``items [I, d]``
    indexed by ``candidates [n, m]`` (non-negative), as ``[n, m]``.

    On the CPU without gradients, a sampled dense product (SDDMM,
    :func:`torch.sparse.sampled_addmm`) computes only the ``n m`` products asked for: with
    1 + 999 candidates per user it beat the two ways below at every catalogue size from 5,000
    to 200,000 items on one thread (``benchmarks/results/candidates.md``). Elsewhere, gathering
    ``[n, m, d]`` item rows costs more than scoring the user against the whole catalogue and
    picking ``m`` scores, unless the catalogue is much larger than ``m``; so the product up to
    64 ``m`` items and the gather beyond.
    """
    differentiable = torch.is_grad_enabled() and (users.requires_grad or items.requires_grad)
    if users.device.type == "cpu" and not differentiable:
        return sampled_dot(users, items, candidates)
    if items.size(0) <= 64 * candidates.size(1):
        return _catalogue_dot(users, items, candidates)
    return torch.bmm(items[candidates], users.unsqueeze(2)).squeeze(2)


def sampled_dot(users: Tensor, items: Tensor, candidates: Tensor) -> Tensor:
    """``dot_candidates`` through :func:`torch.sparse.sampled_addmm`: the candidates are the
    column indices of a CSR matrix with ``m`` entries per row (the CPU kernel takes one dot
    product per entry, so repeated or unsorted candidates are fine). More candidates per user
    than items (a tiny catalogue) is refused by the kernel; then the whole-catalogue product,
    which is cheap there, is used."""
    n, m = candidates.shape
    if n == 0 or m == 0:
        return users.new_zeros(n, m)
    users, items = users.detach(), items.detach()
    if m > items.size(0):
        return _catalogue_dot(users, items, candidates)
    rows = torch.arange(0, n * m + 1, m, device=users.device)
    with warnings.catch_warnings():  # "sparse CSR support is in beta"
        warnings.simplefilter("ignore", UserWarning)
        pattern = torch.sparse_csr_tensor(rows, candidates.reshape(-1).long(), users.new_zeros(n * m),
                                          size=(n, items.size(0)), check_invariants=False)
        return torch.sparse.sampled_addmm(pattern, users, items.t(), beta=0.0).values().view(n, m)


def _catalogue_dot(users: Tensor, items: Tensor, candidates: Tensor) -> Tensor:
    """Each user against the whole catalogue, then its candidates' scores picked."""
    return (users @ items.t()).gather(1, candidates)


@register_scorer("mlp")
class MLPScorer(Scorer):
    r"""An MLP on :math:`[x_u; e_i; x_u \odot e_i]` (NCF-style, He et al., WWW 2017).

    Its raw output is a logit; :math:`\sigma(s)` is the probability of the
    classification view (used with ``loss="bce"`` and the classification metrics).

    Args:
        hidden (int): Hidden width. (default: 64)
    """

    classification = True

    def __init__(self, hidden: int = 64) -> None:
        super().__init__()
        self.hidden = hidden

    def setup(self, user_dim: int, item_dim: int) -> None:
        super().setup(user_dim, item_dim)
        self.user_in = nn.Linear(user_dim, self.hidden)
        self.item_in = nn.Linear(item_dim, self.hidden, bias=False)
        self.both_in = nn.Linear(min(user_dim, item_dim), self.hidden, bias=False)
        self.out = nn.Sequential(nn.ReLU(), nn.Linear(self.hidden, 1))
        self.dot_weight = nn.Parameter(torch.ones(()))

    def forward(self, users: Tensor, items: Tensor) -> Tensor:
        u = users.unsqueeze(1)
        k = min(self.user_dim, self.item_dim)
        both = u[..., :k] * items[..., :k]
        h = self.user_in(u) + self.item_in(items) + self.both_in(both)
        return self.out(h).squeeze(-1) + self.dot_weight * both.sum(-1)

    def score_all(self, users: Tensor, items: Tensor) -> Tensor:
        return self.forward(users, items.unsqueeze(0))
