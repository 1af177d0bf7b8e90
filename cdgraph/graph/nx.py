"""networkx export of a cross-domain graph, and its structural statistics.

:func:`to_networkx` builds a :mod:`networkx` graph (a Python object per node and
edge: fine for inspection, drawing and small graphs). :func:`graph_stats` never goes
through networkx: it computes everything with :mod:`numpy` and :mod:`scipy.sparse`
(components with :func:`scipy.sparse.csgraph.connected_components`), so it scales to
graphs with millions of edges.
"""
from __future__ import annotations

from collections import Counter
from itertools import combinations
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components
from torch_geometric.data import HeteroData

from cdgraph.graph.base import USER

__all__ = ["to_networkx", "graph_stats"]


def _domains(graph: HeteroData) -> list[str]:
    domains = getattr(graph, "domains", None)
    return list(domains) if domains else [t for t in graph.node_types if t != USER]


def _forward_edge_types(graph: HeteroData) -> list[tuple[str, str, str]]:
    """Edge types that are not the ``rev_`` reverse of another one."""
    return [t for t in graph.edge_types if not t[1].startswith("rev_")]


def _num_nodes(graph: HeteroData, node_type: str) -> int:
    n = graph[node_type].num_nodes
    return int(n) if n is not None else 0


def to_networkx(graph: HeteroData, multigraph: bool | None = None) -> nx.Graph:
    """Export ``graph`` as an undirected networkx graph.

    Nodes are keyed ``("user", index)`` and ``(domain, index)`` and carry ``type``
    (``"user"`` or ``"item"``), ``domain`` (``None`` for users) and ``raw_id`` (from
    ``graph.raw_ids``; the index when the graph has none). Each edge type is added once
    (``rev_`` reverses and the mirrored half of symmetric same-type edges collapse into
    the undirected edge), with ``relation`` and, for a one-column ``edge_attr``,
    ``weight``.

    Args:
        graph (HeteroData): A graph in cdgraph's layout.
        multigraph (bool, optional): Return a :class:`networkx.MultiGraph`. By default one
            is returned only when two edge types join the same pair of node types,
            where a plain graph would merge their edges.
    """
    forward = _forward_edge_types(graph)
    if multigraph is None:
        pairs = Counter(frozenset((s, d)) for s, _, d in forward)
        multigraph = any(c > 1 for c in pairs.values())
    out: nx.Graph = nx.MultiGraph() if multigraph else nx.Graph()
    out.graph.update(domains=_domains(graph), target=getattr(graph, "target", None))
    raw_ids = getattr(graph, "raw_ids", None) or {}
    for node_type in graph.node_types:
        n = _num_nodes(graph, node_type)
        ids = raw_ids[node_type].tolist() if node_type in raw_ids else range(n)
        is_user = node_type == USER
        attrs = {"type": "user" if is_user else "item", "domain": None if is_user else node_type}
        out.add_nodes_from(((node_type, i), {**attrs, "raw_id": raw}) for i, raw in zip(range(n), ids))
    for edge_type in forward:
        src, rel, dst = edge_type
        store = graph[edge_type]
        rows, cols = store.edge_index.cpu().numpy()
        attr = getattr(store, "edge_attr", None)
        weights = (attr.detach().cpu().view(-1).tolist()
                   if attr is not None and attr.dim() == 2 and attr.size(1) == 1 else None)
        if src == dst and (dst, f"rev_{rel}", src) not in graph.edge_types:
            half = rows <= cols  # symmetric: keep one direction
            rows, cols = rows[half], cols[half]
            weights = None if weights is None else [w for w, h in zip(weights, half) if h]
        ends = zip(((src, r) for r in rows.tolist()), ((dst, c) for c in cols.tolist()))
        if weights is None:
            out.add_edges_from((u, v, {"relation": rel}) for u, v in ends)
        else:
            out.add_edges_from((u, v, {"relation": rel, "weight": w}) for (u, v), w in zip(ends, weights))
    return out


def _adjacency(graph: HeteroData) -> tuple[sp.csr_matrix, dict[str, int]]:
    """Binary symmetric adjacency over all nodes (types stacked in ``node_types`` order)."""
    offsets, total = {}, 0
    for node_type in graph.node_types:
        offsets[node_type] = total
        total += _num_nodes(graph, node_type)
    rows, cols = [np.empty(0, np.int64)], [np.empty(0, np.int64)]
    for src, rel, dst in _forward_edge_types(graph):
        edge_index = graph[src, rel, dst].edge_index.cpu().numpy()
        rows.append(edge_index[0] + offsets[src])
        cols.append(edge_index[1] + offsets[dst])
    r, c = np.concatenate(rows), np.concatenate(cols)
    A = sp.csr_matrix((np.ones(2 * len(r), np.int8), (np.r_[r, c], np.r_[c, r])), shape=(total, total))
    A.sum_duplicates()
    A.data[:] = 1
    return A, offsets


def graph_stats(graph: HeteroData) -> dict[str, Any]:
    """Structural statistics of a cross-domain graph, computed with numpy and scipy.

    Degree is the number of distinct neighbours over all edge types (reverses not
    counted twice), as :func:`to_networkx`'s plain graph reports it when there are no
    self-loops. A user *bridges* two domains when it has an edge to an item of each.

    Returns:
        dict with

        * ``num_nodes`` (dict): nodes per node type;
        * ``num_edges`` (dict): stored edges per forward edge type (reverses left out; a
          symmetric same-type edge type stores, and so counts, each pair twice);
        * ``num_components`` (int), ``largest_component`` (int, nodes),
          ``isolated_nodes`` (int): connected components of the undirected graph over
          all node types (an isolated node is a component of its own), from
          :func:`scipy.sparse.csgraph.connected_components`;
        * ``degree`` (DataFrame): index degree, one column per node type, values the
          number of nodes of that type with that degree;
        * ``degree_summary`` (DataFrame): ``describe()`` of the degrees per node type;
        * ``bridging_users`` (int): users with edges to at least two domains;
        * ``bridging_pairs`` (DataFrame): columns ``a``, ``b``, ``users`` (users with
          edges to both domains ``a`` and ``b``), one row per pair of domains.
    """
    A, offsets = _adjacency(graph)
    n_comp, labels = connected_components(A, directed=False)
    sizes = np.bincount(labels, minlength=n_comp) if len(labels) else np.zeros(0, np.int64)
    degree_all = np.diff(A.indptr).astype(np.int64)

    degrees = {t: degree_all[offsets[t]:offsets[t] + _num_nodes(graph, t)] for t in graph.node_types}
    counts = {t: pd.Series(d).value_counts() for t, d in degrees.items()}
    degree = pd.DataFrame(counts).fillna(0).astype(np.int64).sort_index()
    degree.index.name = "degree"
    summary = pd.DataFrame({t: pd.Series(d, dtype=float).describe() for t, d in degrees.items()})

    domains = _domains(graph)
    n_users = _num_nodes(graph, USER) if USER in graph.node_types else 0
    touches = np.zeros((n_users, len(domains)), dtype=bool)
    for k, d in enumerate(domains):
        for src, rel, dst in graph.edge_types:
            if {src, dst} == {USER, d} and not rel.startswith("rev_"):
                edge_index = graph[src, rel, dst].edge_index.cpu().numpy()
                touches[edge_index[0 if src == USER else 1], k] = True
    both = touches.T.astype(np.int64) @ touches.astype(np.int64)
    pairs = pd.DataFrame([{"a": a, "b": b, "users": int(both[i, j])}
                          for (i, a), (j, b) in combinations(enumerate(domains), 2)],
                         columns=["a", "b", "users"])
    return {
        "num_nodes": {t: _num_nodes(graph, t) for t in graph.node_types},
        "num_edges": {t: int(graph[t].edge_index.size(1)) for t in _forward_edge_types(graph)},
        "num_components": int(n_comp),
        "largest_component": int(sizes.max()) if len(sizes) else 0,
        "isolated_nodes": int((degree_all == 0).sum()),
        "degree": degree,
        "degree_summary": summary,
        "bridging_users": int((touches.sum(axis=1) >= 2).sum()),
        "bridging_pairs": pairs,
    }
