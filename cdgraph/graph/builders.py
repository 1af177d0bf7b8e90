"""Built-in graph builders: ``"bipartite"`` and ``"cooccurrence"``."""
from __future__ import annotations

import logging
from typing import Any, Mapping

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch
from torch_geometric.data import HeteroData

from cdgraph.graph.base import GraphBuilder, Source, register_builder, reverse_relation
from cdgraph.graph.content import check_bridge_options, check_content_option, content_bridge, item_content

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

    With ``content``, every item node type gets ``x``: float32 ``[num_items, width]`` item
    content (:func:`cdgraph.graph.content.item_content`: text columns encoded by
    ``text_encoder``, numbers and vectors as they are; zero rows for items without
    features), or the given vectors. With ``content_bridge``, edge types ``(a, "similar", b)``
    and their reverses join the items of different domains whose content vectors are nearest
    neighbours (:func:`cdgraph.graph.content.content_bridge`), ``edge_attr`` their cosine.

    Args:
        content (None, "auto", str, list of str or dict): None: no ``x``; ``"auto"``: every item
            feature column (no ``x`` when the data has none); column name(s); or a dict
            ``domain -> array [num_items, width]`` of precomputed vectors. (default: None)
        text_encoder: Text encoder of text columns (:func:`cdgraph.text.encode`). (default:
            ``"wordllama"``)
        text_options (dict, optional): Options of :func:`cdgraph.text.encode`.
        content_bridge (dict, optional): ``{"k": 10, "threshold": 0.5, "mutual": False}``, any
            of the keys; needs ``content``. (default: None)
    """

    similar = "similar"

    def __init__(self, content: Any = None, text_encoder: Any = "wordllama",
                 text_options: dict[str, Any] | None = None, content_bridge: dict[str, Any] | None = None) -> None:
        if not isinstance(content, Mapping):
            check_content_option("bipartite", content)
        self.content, self.text_encoder, self.text_options = content, text_encoder, dict(text_options or {})
        self.content_bridge = check_bridge_options("bipartite", content_bridge)
        if self.content_bridge is not None and content is None:
            raise ValueError("bipartite: content_bridge joins items by their content; give content='auto', "
                             "columns or vectors too.")

    def build(self, split_or_data: Source) -> HeteroData:
        graph = self.empty_graph(split_or_data)
        for domain, frame in self.frames(split_or_data).items():
            self.add_interactions(graph, domain, frame)
        vectors = self.vectors(split_or_data)
        if vectors is not None:
            for domain, x in vectors.items():
                graph[domain].x = torch.from_numpy(x)
            if self.content_bridge is not None:
                for (a, b), (ia, ib, sim) in content_bridge(vectors, **self.content_bridge).items():
                    edge_index, attr = torch.from_numpy(np.stack([ia, ib])), torch.from_numpy(sim).view(-1, 1)
                    graph[a, self.similar, b].edge_index, graph[a, self.similar, b].edge_attr = edge_index, attr
                    rev = graph[b, reverse_relation(self.similar), a]
                    rev.edge_index, rev.edge_attr = edge_index.flip(0), attr.clone()
        return graph

    def vectors(self, split_or_data: Source) -> dict[str, np.ndarray] | None:
        """The item content of every domain (float32), or None without content."""
        data = self.source_data(split_or_data)
        if self.content is None:
            return None
        if not isinstance(self.content, Mapping):
            return item_content(data, self.content, self.text_encoder, self.text_options)
        unknown = sorted(set(self.content) - set(data.domains))
        if unknown:
            raise ValueError(f"bipartite: content names domain(s) {unknown}, not among {data.domains}.")
        out = {}
        for d in data.domains:
            x = np.asarray(self.content[d], dtype=np.float32) if d in self.content else None
            if x is not None and (x.ndim != 2 or len(x) != data.num_items(d) or not np.isfinite(x).all()):
                raise ValueError(f"bipartite: content[{d!r}] must be a finite [num_items={data.num_items(d)}, "
                                 f"width] array, got shape {x.shape}.")
            out[d] = x
        widths = {x.shape[1] for x in out.values() if x is not None}
        if len(widths) != 1:
            raise ValueError(f"bipartite: content vectors need one width over the domains, got {sorted(widths)}.")
        width = widths.pop()
        return {d: np.ascontiguousarray(x) if x is not None else np.zeros((data.num_items(d), width), np.float32)
                for d, x in out.items()}


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
        **content: The item content options of :class:`BipartiteBuilder`.
    """

    relation = "cooccurs"

    def __init__(self, min_count: int = 2, top_k: int | None = None,
                 max_user_degree: int | None = None, symmetrize: str = "union", **content: Any) -> None:
        super().__init__(**content)
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
