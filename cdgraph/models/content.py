"""The content-only yardstick: :class:`ContentKNN`, registered as ``"content-knn"``."""
from __future__ import annotations

import logging
from typing import Any, Iterator

import numpy as np
import scipy.sparse as sp
import torch
from scipy.sparse.linalg import svds

from cdgraph.data.split import Split
from cdgraph.graph.content import check_content_option, check_text_encoder, graph_content, unit_rows
from cdgraph.models.factors import FactorRecommender
from cdgraph.models.registry import register_model
from cdgraph.train.config import TrainConfig

log = logging.getLogger(__name__)


@register_model("content-knn")
class ContentKNN(FactorRecommender):
    r"""Content-based nearest neighbours: a user's profile is the mean content of the items it
    interacted with in any domain, and target items are ranked by cosine similarity to it
    (the classic content-based recommender, Pazzani and Billsus, *The Adaptive Web*, 2007;
    across domains as in content-based cross-domain recommendation, e.g. Winoto and Tang, 2008).

    .. math::
        p_u = \frac{1}{|N(u)|} \sum_{j \in N(u)} \tilde c_j, \qquad
        s(u, i) = \frac{p_u^\top \tilde c_i}{\lVert p_u \rVert}, \qquad
        \tilde c = c / \lVert c \rVert,

    :math:`N(u)` the user's training items over all domains, :math:`c_i` an item's content
    vector (:func:`cdgraph.graph.content.item_content`: text encoded by ``text_encoder``,
    numbers and vectors as they are). Nothing is learned by gradient; ``fit`` averages (and
    ``epochs=0`` gives an untrained model: zero profiles, every score 0). An item without
    content scores 0, a user without history 0 for every item.

    On data without item features (or with ``content=None``) the item vectors fall back to
    **co-occurrence vectors**: the rank-``dim`` truncated SVD :math:`X \approx U \Sigma V^\top`
    of the binary item-by-user matrix :math:`X` of every domain's training interactions,
    :math:`c_i = (U\Sigma)_i`, so that :math:`c_i^\top c_j` approximates the number of users
    items :math:`i` and :math:`j` share: item-based collaborative filtering (Sarwar et al.,
    WWW 2001) through the users the domains share. ``fallback=False`` raises instead.

    Args:
        target (str): The target domain.
        content (None, "auto", str or list of str): Item feature columns, as in
            :class:`~cdgraph.models.graph.GraphRecommender`. (default: ``"auto"``)
        text_encoder: Text encoder of text columns. (default: ``"wordllama"``)
        text_options (dict, optional): Options of :func:`cdgraph.text.encode`.
        fallback (bool): Use co-occurrence vectors when there is no content. (default: True)
        dim (int): Rank of the co-occurrence vectors. (default: 64)

    Attributes (after ``fit``):
        users_ (Tensor): Unit profiles ``[num_users, width]``.
        items_ (Tensor): Unit content vectors of the target's items.
        source_ (str): ``"content"`` or ``"cooccurrence"``: where the item vectors came from.
    """

    def __init__(self, target: str, content: Any = "auto", text_encoder: Any = "wordllama",
                 text_options: dict | None = None, fallback: bool = True, dim: int = 64) -> None:
        check_content_option("ContentKNN", content)
        check_text_encoder("ContentKNN", text_encoder)
        if text_options is not None and not isinstance(text_options, dict):
            raise TypeError(f"ContentKNN: text_options must be a dict of keyword options, got {text_options!r}.")
        if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
            raise ValueError(f"ContentKNN: dim must be a positive integer, got {dim!r}.")
        self.target, self.content, self.text_encoder = target, content, text_encoder
        self.text_options, self.fallback, self.dim = dict(text_options or {}), bool(fallback), dim
        self.source_: str | None = None

    def phases(self, split: Split, config: TrainConfig) -> Iterator[Any]:
        """Averages the content of each user's training items (no gradient phase)."""
        self._remember(split)
        vectors = graph_content(split.data, self.content, self.text_encoder, self.text_options)[0]
        self.source_ = "content"
        if vectors is None:
            if not self.fallback:
                raise ValueError(f"content-knn: the data has no item features (content={self.content!r}); "
                                 f"give item features (CrossDomainData.set_item_features), or fallback=True "
                                 f"for co-occurrence vectors.")
            vectors, self.source_ = cooccurrence_vectors(split, self.dim), "cooccurrence"
        profiles = np.zeros((split.data.num_users, vectors[self.target].shape[1]), np.float32)
        if config.epochs > 0:
            profiles = unit_rows({"u": mean_profiles(split, vectors)})["u"]
        self.users_ = torch.from_numpy(profiles).to(config.device)
        self.items_ = torch.from_numpy(vectors[self.target]).to(config.device)
        return iter(())


def interaction_matrix(split: Split, domain: str) -> sp.csr_matrix:
    """Binary users-by-items CSR matrix of ``domain``'s training interactions."""
    frame = split.train[domain]
    users, items = frame["user"].to_numpy(np.int64), frame["item"].to_numpy(np.int64)
    x = sp.csr_matrix((np.ones(len(users), np.float32), (users, items)),
                      shape=(split.data.num_users, split.data.num_items(domain)))
    x.sum_duplicates()
    x.data[:] = 1.0
    return x


def mean_profiles(split: Split, vectors: dict[str, np.ndarray]) -> np.ndarray:
    """``p_u``: the mean of the unit content vectors of each user's training items, all domains."""
    total = np.zeros((split.data.num_users, vectors[split.target].shape[1]), np.float64)
    count = np.zeros(split.data.num_users, np.float64)
    for d in split.data.domains:
        x = interaction_matrix(split, d)
        total += x @ vectors[d].astype(np.float64)
        count += np.asarray(x.sum(1)).ravel()
    return (total / np.maximum(count, 1)[:, None]).astype(np.float32)


def cooccurrence_vectors(split: Split, dim: int = 64) -> dict[str, np.ndarray]:
    """Unit rows of :math:`U\\Sigma`, the rank-``dim`` truncated SVD of the binary item-by-user
    matrix of every domain's training interactions (deterministic start vector)."""
    domains = split.data.domains
    x = sp.vstack([interaction_matrix(split, d).T for d in domains]).tocsr().astype(np.float64)
    rank = max(1, min(dim, min(x.shape) - 1))
    u, s, _ = svds(x, k=rank, v0=np.full(min(x.shape), 1.0 / np.sqrt(min(x.shape))))
    flat = (u * s).astype(np.float32)
    sizes = np.cumsum([0] + [split.data.num_items(d) for d in domains])
    return unit_rows({d: flat[sizes[n]:sizes[n + 1]] for n, d in enumerate(domains)})
