"""Graphs of cross-domain interactions as :class:`torch_geometric.data.HeteroData`.

Build one with :func:`build_graph` from a registered builder name (see
:func:`available_builders`: ``"bipartite"``, ``"cooccurrence"``), a
:class:`GraphBuilder` subclass or an instance; register your own with
:func:`register_builder`. :func:`to_networkx` and :func:`graph_stats` inspect the result.

Example::

    from cdgraph.graph import build_graph, graph_stats

    graph = build_graph("cooccurrence", split, min_count=3, top_k=20)
    graph_stats(graph)["bridging_users"]
"""
from __future__ import annotations

from cdgraph.graph.base import (BUILDERS, INTERACTS, USER, GraphBuilder, available_builders, build_graph, register_builder, reverse_relation, validate_graph)
from cdgraph.graph.builders import BipartiteBuilder, CooccurrenceBuilder, cooccurrence_edges
from cdgraph.graph.nx import graph_stats, to_networkx

__all__ = [
    "BUILDERS", "INTERACTS", "USER", "GraphBuilder", "available_builders", "build_graph",
    "register_builder", "reverse_relation", "validate_graph", "BipartiteBuilder",
    "CooccurrenceBuilder", "cooccurrence_edges", "graph_stats", "to_networkx",
]
