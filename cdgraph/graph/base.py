"""The graph builder contract, its registry, and the checks every built graph passes.

A builder turns a :class:`~cdgraph.data.split.Split` (its training interactions only)
or a whole :class:`~cdgraph.CrossDomainData` into a
:class:`torch_geometric.data.HeteroData` in the layout every cdgraph model reads:

* node type ``"user"`` (one shared user index) and one item node type per domain,
  named after the domain;
* edge types ``("user", rel, domain)`` each with its reverse
  ``(domain, "rev_" + rel, "user")`` holding the same edges transposed (the layout
  :class:`torch_geometric.transforms.ToUndirected` produces), and same-type edges
  ``(domain, rel, domain)`` that are either symmetric or come with a reverse;
* graph-level attributes ``raw_ids`` (node type -> :class:`pandas.Index` of raw ids),
  ``domains`` (list of domain names) and, for a graph built from a split, ``target``.

``graph.target`` is absent (read it as ``getattr(graph, "target", None)``) on a graph
built from a whole :class:`~cdgraph.CrossDomainData`: PyG storages delete an
attribute set to ``None`` and drop a stored ``None`` on ``.to()``/``.clone()``.

Example::

    from cdgraph.graph import GraphBuilder, register_builder

    @register_builder("my-graph")
    class MyGraph(GraphBuilder):
        def build(self, split_or_data):
            graph = self.empty_graph(split_or_data)
            ...
            return graph

    graph = build_graph("my-graph", split)
"""
from __future__ import annotations

import logging
from typing import Any, Union

import numpy as np
import pandas as pd
import torch
from torch import Tensor
from torch_geometric.data import HeteroData

from cdgraph.data.interactions import CrossDomainData
from cdgraph.registry import Registry
from cdgraph.data.split import Split

log = logging.getLogger(__name__)

__all__ = ["GraphBuilder", "BUILDERS", "register_builder", "build_graph", "available_builders",
           "validate_graph", "USER", "INTERACTS", "reverse_relation"]

USER = "user"
INTERACTS = "interacts"
_GRAPH_ATTRS = ("raw_ids", "domains", "target")

Source = Union[Split, CrossDomainData]


def reverse_relation(rel: str) -> str:
    """The name of the reverse of relation ``rel``: ``"rev_" + rel``."""
    return f"rev_{rel}"


class GraphBuilder:
    """Base class of graph builders: interactions in, a :class:`HeteroData` out.

    Subclasses take their options as ``__init__`` keyword arguments and implement
    :meth:`build`. The helpers :meth:`frames` and :meth:`empty_graph` give the
    interactions to use (a split's training part, or all of the data) and a graph
    with the node types and graph-level attributes already set.
    """

    registered_name: str = ""

    def build(self, split_or_data: Source) -> HeteroData:
        """Build the graph of ``split_or_data``.

        Args:
            split_or_data (Split | CrossDomainData): A split (only its training
                interactions may appear) or whole data (all interactions appear).
        """
        raise NotImplementedError(f"{type(self).__qualname__} must implement build(split_or_data).")

    # ---------------------------------------------------------------- helpers
    @staticmethod
    def source_data(split_or_data: Source) -> CrossDomainData:
        """The :class:`CrossDomainData` behind ``split_or_data``."""
        if isinstance(split_or_data, Split):
            return split_or_data.data
        if isinstance(split_or_data, CrossDomainData):
            return split_or_data
        raise TypeError(f"Graph builders take a Split or a CrossDomainData, "
                        f"got {type(split_or_data).__qualname__}.")

    @classmethod
    def frames(cls, split_or_data: Source) -> dict[str, pd.DataFrame]:
        """Interactions per domain in index space: ``split.train``, or all of the data."""
        data = cls.source_data(split_or_data)
        if isinstance(split_or_data, Split):
            return {d: split_or_data.train[d] for d in data.domains}
        return {d: data.interactions(d) for d in data.domains}

    @classmethod
    def empty_graph(cls, split_or_data: Source) -> HeteroData:
        """A graph with every node type, ``raw_ids``, ``domains`` and ``target`` set, no edges."""
        data = cls.source_data(split_or_data)
        clash = sorted(set(data.domains) & set(_GRAPH_ATTRS))
        if clash:
            raise ValueError(f"Domain name(s) {clash} clash with the graph attributes "
                             f"{list(_GRAPH_ATTRS)}; rename the domain(s).")
        graph = HeteroData()
        graph[USER].num_nodes = data.num_users
        for d in data.domains:
            graph[d].num_nodes = data.num_items(d)
        graph.raw_ids = {USER: data.user_ids, **{d: data.item_ids[d] for d in data.domains}}
        graph.domains = list(data.domains)
        if isinstance(split_or_data, Split):
            graph.target = split_or_data.target
        return graph

    @staticmethod
    def add_interactions(graph: HeteroData, domain: str, frame: pd.DataFrame,
                         rel: str = INTERACTS) -> None:
        """Add ``("user", rel, domain)`` and its reverse from a frame with columns user, item[, rating].

        A ``rating`` column becomes ``edge_attr`` of shape ``[E, 1]`` (float) on both directions.
        """
        users = torch.from_numpy(frame["user"].to_numpy(np.int64, copy=True))
        items = torch.from_numpy(frame["item"].to_numpy(np.int64, copy=True))
        forward = graph[USER, rel, domain]
        backward = graph[domain, reverse_relation(rel), USER]
        forward.edge_index = torch.stack([users, items])
        backward.edge_index = torch.stack([items, users])
        if "rating" in frame.columns:
            rating = torch.from_numpy(frame["rating"].to_numpy(np.float32, copy=True)).view(-1, 1)
            forward.edge_attr = rating
            backward.edge_attr = rating.clone()

    def __repr__(self) -> str:
        options = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({options})"


BUILDERS: Registry[GraphBuilder] = Registry("graph builder", GraphBuilder)
register_builder = BUILDERS.register


def available_builders() -> list[str]:
    """Names of the registered graph builders, sorted."""
    return BUILDERS.names()


def build_graph(builder: str | type | GraphBuilder, split_or_data: Source,
                **options: Any) -> HeteroData:
    """Build and validate the graph of ``split_or_data`` with a registered or given builder.

    Args:
        builder (str | type | GraphBuilder): A registered name (see
            :func:`available_builders`), a :class:`GraphBuilder` subclass, or an instance
            (``options`` are then ignored).
        split_or_data (Split | CrossDomainData): What to build the graph of.
        **options: Keyword arguments of the builder's ``__init__``.

    Raises:
        ValueError: the built graph breaks the layout (see :func:`validate_graph`).
    """
    instance = BUILDERS.resolve(builder, **options)
    if options and not isinstance(builder, (str, type)):
        log.warning("build_graph: options %s ignored for the given builder object %r.",
                    sorted(options), instance)
    graph = instance.build(split_or_data)
    name = _builder_name(instance)
    if not isinstance(graph, HeteroData):
        raise TypeError(f"Graph builder {name!r} returned {type(graph).__qualname__}, "
                        f"not a torch_geometric.data.HeteroData.")
    validate_graph(graph, GraphBuilder.source_data(split_or_data), builder=name)
    log.info("Graph builder %r: %s nodes, %s edges.", name,
             {t: graph[t].num_nodes for t in graph.node_types},
             {"/".join(t): graph[t].num_edges for t in graph.edge_types})
    return graph


def _builder_name(builder: GraphBuilder) -> str:
    """The registered name of ``builder``'s class, else its class name (not a parent's name)."""
    name = getattr(type(builder), "registered_name", "")
    if name and name in BUILDERS and BUILDERS.get(name) is type(builder):
        return name
    return type(builder).__qualname__


# ------------------------------------------------------------------ validation
def validate_graph(graph: HeteroData, data: CrossDomainData | None = None,
                   builder: str = "(unnamed)") -> None:
    """Check that ``graph`` has cdgraph's layout; raise a ValueError naming ``builder`` if not.

    Checks, all vectorised, in ``O(E log E)`` for ``E`` edges: node types are
    ``"user"`` or a domain; node counts match ``data`` (when given) and ``raw_ids``;
    every ``edge_index`` is a long ``[2, E]`` tensor within the node counts; every edge
    type ``(src, rel, dst)`` whose relation does not start with ``rev_`` has the
    reverse ``(dst, "rev_" + rel, src)`` holding exactly the transposed edges (compared
    as sorted edge keys), except same-type edges, which may instead be symmetric;
    then :meth:`HeteroData.validate`.
    """
    if data is not None:
        domains = list(data.domains)
    else:  # without data, trust graph.domains, else every non-user node type is a domain
        domains = list(getattr(graph, "domains", None) or [t for t in graph.node_types if t != USER])
    allowed = {USER, *domains}
    for node_type in graph.node_types:
        if node_type not in allowed:
            raise ValueError(f"Graph builder {builder!r} made unknown node type {node_type!r}; "
                             f"node types must be 'user' or a domain of {domains}.")
    _check_node_counts(graph, data, builder)
    for edge_type in graph.edge_types:
        _check_edge_index(graph, edge_type, builder)
    for edge_type in graph.edge_types:
        _check_reverse(graph, edge_type, builder)
    try:
        graph.validate(raise_on_error=True)
    except ValueError as exc:
        raise ValueError(f"Graph builder {builder!r}: HeteroData.validate() failed: {exc}") from None


def _num_nodes(graph: HeteroData, node_type: str) -> int:
    n = graph[node_type].num_nodes
    return int(n) if n is not None else 0


def _check_node_counts(graph: HeteroData, data: CrossDomainData | None, builder: str) -> None:
    raw_ids = getattr(graph, "raw_ids", None) or {}
    for node_type in graph.node_types:
        n = _num_nodes(graph, node_type)
        if data is not None:
            want = data.num_users if node_type == USER else data.num_items(node_type)
            if n != want:
                raise ValueError(f"Graph builder {builder!r}: node type {node_type!r} has {n} nodes, "
                                 f"the data has {want}; keep the data's index space.")
        if node_type in raw_ids and len(raw_ids[node_type]) != n:
            raise ValueError(f"Graph builder {builder!r}: raw_ids[{node_type!r}] has "
                             f"{len(raw_ids[node_type])} ids for {n} nodes.")


def _check_edge_index(graph: HeteroData, edge_type: tuple[str, str, str], builder: str) -> None:
    src, _, dst = edge_type
    edge_index = getattr(graph[edge_type], "edge_index", None)
    if not isinstance(edge_index, Tensor) or edge_index.dim() != 2 or edge_index.size(0) != 2:
        shape = tuple(edge_index.shape) if isinstance(edge_index, Tensor) else type(edge_index).__name__
        raise ValueError(f"Graph builder {builder!r}: edge type {edge_type} needs an edge_index "
                         f"tensor of shape [2, E], got {shape}.")
    if edge_index.dtype != torch.long:
        raise ValueError(f"Graph builder {builder!r}: edge type {edge_type} has edge_index of "
                         f"dtype {edge_index.dtype}; use torch.long.")
    if edge_index.numel() == 0:
        return
    for row, node_type in ((0, src), (1, dst)):
        n = _num_nodes(graph, node_type)
        lo, hi = int(edge_index[row].min()), int(edge_index[row].max())
        if lo < 0 or hi >= n:
            bad = lo if lo < 0 else hi
            raise ValueError(f"Graph builder {builder!r}: edge type {edge_type} has "
                             f"{'source' if row == 0 else 'target'} index {bad} (max {hi}) "
                             f"out of range for {n} {node_type!r} nodes.")


def _keys(rows: Tensor, cols: Tensor, n_cols: int) -> Tensor:
    """Sorted ``row * n_cols + col`` keys of an edge list."""
    return torch.sort(rows * max(n_cols, 1) + cols).values


def _check_reverse(graph: HeteroData, edge_type: tuple[str, str, str], builder: str) -> None:
    src, rel, dst = edge_type
    if rel.startswith("rev_"):
        return
    forward = graph[edge_type].edge_index
    rev_type = (dst, reverse_relation(rel), src)
    n_src, n_dst = _num_nodes(graph, src), _num_nodes(graph, dst)
    if n_src * max(n_dst, 1) >= 2 ** 62:
        log.warning("Graph builder %r: %s too large to check its reverse by edge keys.", builder, edge_type)
        return
    if rev_type not in graph.edge_types:
        if src == dst:
            keys = _keys(forward[0], forward[1], n_dst)
            if torch.equal(keys, _keys(forward[1], forward[0], n_dst)):
                return
            raise ValueError(f"Graph builder {builder!r}: same-type edge type {edge_type} is not "
                             f"symmetric and has no reverse {rev_type}; add the transposed edges.")
        raise ValueError(f"Graph builder {builder!r}: edge type {edge_type} has no reverse "
                         f"{rev_type}; add it with the same edges transposed.")
    backward = graph[rev_type].edge_index
    if forward.size(1) == backward.size(1) and torch.equal(forward[0], backward[1]) \
            and torch.equal(forward[1], backward[0]):
        pass  # same order, transposed: O(E) fast path, the layout add_interactions writes
    elif forward.size(1) != backward.size(1) or not torch.equal(
            _keys(forward[0], forward[1], n_dst), _keys(backward[1], backward[0], n_dst)):
        raise ValueError(f"Graph builder {builder!r}: reverse {rev_type} does not hold exactly the "
                         f"edges of {edge_type} transposed ({backward.size(1)} vs {forward.size(1)} edges).")
    attr_f = getattr(graph[edge_type], "edge_attr", None)
    attr_b = getattr(graph[rev_type], "edge_attr", None)
    if (attr_f is None) != (attr_b is None) or (
            attr_f is not None and tuple(attr_f.shape) != tuple(attr_b.shape)):
        raise ValueError(f"Graph builder {builder!r}: edge_attr of {edge_type} and its reverse "
                         f"{rev_type} differ in presence or shape; set it on both directions.")
