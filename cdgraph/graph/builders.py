"""Built-in graph builders: ``"bipartite"`` and ``"cooccurrence"``."""
from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch
from torch_geometric.data import HeteroData

from cdgraph.graph.base import GraphBuilder, Source, register_builder

log = logging.getLogger(__name__)

__all__ = ["BipartiteBuilder", "CooccurrenceBuilder", "cooccurrence_edges"]


@register_builder("bipartite")
class BipartiteBuilder(GraphBuilder):
    r"""The user-item interaction graph of every domain, users shared across domains.

    For each domain :math:`d` with interactions :math:`R_d \subseteq U \times I_d`,
    edge type ``("user", "interacts", d)`` holds :math:`R_d` and
    ``(d, "rev_interacts", "user")`` its transpose. Ratings, when the data has them,
    become ``edge_attr`` of shape ``[E, 1]`` on both directions. Built from a
    split's training interactions only, or from all interactions of whole data.
    """

    def build(self, split_or_data: Source) -> HeteroData:
        graph = self.empty_graph(split_or_data)
        for domain, frame in self.frames(split_or_data).items():
            self.add_interactions(graph, domain, frame)
        return graph


@register_builder("cooccurrence")
class CooccurrenceBuilder(BipartiteBuilder):
    r"""The bipartite graph plus item-item co-occurrence edges within each domain.

    With :math:`X_d \in \{0,1\}^{|U| \times |I_d|}` the interaction matrix of domain
    :math:`d` (users above ``max_user_degree`` interactions dropped), the counts are

    .. math::
        C_d = X_d^\top X_d, \qquad (i, j) \in E_d \iff i \ne j \text{ and }
        (C_d)_{ij} \ge \text{min\_count},

    stored as the symmetric edge type ``(d, "cooccurs", d)`` (its own reverse) with
    ``edge_attr`` :math:`(C_d)_{ij}` as float ``[E, 1]``. With ``top_k``, each item keeps
    its ``top_k`` most frequent co-items (ties to the lower item index), then the edge set
    is made symmetric again: ``"union"`` keeps a pair chosen by either item (an item may
    then have more than ``top_k`` neighbours), ``"mutual"`` only pairs chosen by both
    (at most ``top_k`` each).

    Args:
        min_count (int): Fewest shared users for two items to be linked. (default: ``2``)
        top_k (int, optional): Co-items kept per item. (default: ``None``, all)
        max_user_degree (int, optional): Users with more interactions in a domain are
            left out of its counts; they cost :math:`O(\text{degree}^2)`. (default: ``None``)
        symmetrize (str): ``"union"`` or ``"mutual"``, see above. (default: ``"union"``)
    """

    relation = "cooccurs"

    def __init__(self, min_count: int = 2, top_k: int | None = None,
                 max_user_degree: int | None = None, symmetrize: str = "union") -> None:
        if min_count < 1:
            raise ValueError(f"cooccurrence: min_count must be >= 1, got {min_count}.")
        if top_k is not None and top_k < 1:
            raise ValueError(f"cooccurrence: top_k must be >= 1 or None, got {top_k}.")
        if max_user_degree is not None and max_user_degree < 1:
            raise ValueError(f"cooccurrence: max_user_degree must be >= 1 or None, got {max_user_degree}.")
        if symmetrize not in ("union", "mutual"):
            raise ValueError(f"cooccurrence: symmetrize must be 'union' or 'mutual', got {symmetrize!r}.")
        self.min_count = int(min_count)
        self.top_k = top_k
        self.max_user_degree = max_user_degree
        self.symmetrize = symmetrize

    def build(self, split_or_data: Source) -> HeteroData:
        graph = super().build(split_or_data)
        data = self.source_data(split_or_data)
        for domain, frame in self.frames(split_or_data).items():
            edge_index, counts = cooccurrence_edges(
                frame, data.num_users, data.num_items(domain), min_count=self.min_count,
                top_k=self.top_k, max_user_degree=self.max_user_degree, symmetrize=self.symmetrize)
            store = graph[domain, self.relation, domain]
            store.edge_index = edge_index
            store.edge_attr = counts.view(-1, 1)
            log.info("cooccurrence: domain %r has %d item-item edges.", domain, edge_index.size(1))
        return graph


def cooccurrence_edges(frame: pd.DataFrame, num_users: int, num_items: int, min_count: int = 2,
                       top_k: int | None = None, max_user_degree: int | None = None,
                       symmetrize: str = "union") -> tuple[torch.Tensor, torch.Tensor]:
    r"""Symmetric item-item edges of one domain and their co-occurrence counts.

    Computes :math:`C = X^\top X` with :mod:`scipy.sparse`, see :class:`CooccurrenceBuilder`.

    Args:
        frame (DataFrame): Interactions with columns ``user`` and ``item`` (index space).
        num_users (int): Size of the user index.
        num_items (int): Size of the domain's item index.

    Returns:
        ``(edge_index [2, E] long, counts [E] float)``, sorted by (row, column).
    """
    users = frame["user"].to_numpy(np.int64)
    items = frame["item"].to_numpy(np.int64)
    X = sp.csr_matrix((np.ones(len(users), np.int32), (users, items)), shape=(num_users, num_items))
    X.sum_duplicates()
    X.data[:] = 1  # binary: a repeated (user, item) counts once
    if max_user_degree is not None:
        degree = np.diff(X.indptr)
        heavy = degree > max_user_degree
        if heavy.any():
            log.info("cooccurrence: skipping %d users with more than %d interactions.",
                     int(heavy.sum()), max_user_degree)
            X = X[np.flatnonzero(~heavy)]
    C = (X.T @ X).tocoo()
    keep = (C.row != C.col) & (C.data >= min_count)
    row, col, count = C.row[keep].astype(np.int64), C.col[keep].astype(np.int64), C.data[keep]
    if top_k is not None and len(row):
        order = np.lexsort((col, -count, row))  # per row: most frequent first, then lower index
        row, col, count = row[order], col[order], count[order]
        starts = np.r_[0, np.flatnonzero(np.diff(row)) + 1]
        rank = np.arange(len(row)) - np.repeat(starts, np.diff(np.r_[starts, len(row)]))
        sel = rank < top_k
        chosen = sp.csr_matrix((np.ones(int(sel.sum()), np.int8), (row[sel], col[sel])),
                               shape=(num_items, num_items))
        mask = chosen.maximum(chosen.T) if symmetrize == "union" else chosen.minimum(chosen.T)
        # C is symmetric, so the count of a kept pair does not depend on which item chose it.
        kept = sp.csr_matrix((count, (row, col)), shape=(num_items, num_items)).multiply(mask).tocoo()
        kept.eliminate_zeros()
        row, col, count = kept.row.astype(np.int64), kept.col.astype(np.int64), kept.data
    order = np.lexsort((col, row))
    edge_index = torch.as_tensor(np.stack([row[order], col[order]]), dtype=torch.long)
    return edge_index, torch.as_tensor(count[order], dtype=torch.float32)
