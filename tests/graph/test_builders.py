from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
import torch
import torch_geometric.transforms as T
from torch_geometric.data import HeteroData

from cdgraph import CrossDomainData
from cdgraph.data import split as splits
from cdgraph.graph import (BipartiteBuilder, CooccurrenceBuilder, GraphBuilder, available_builders, build_graph, register_builder, validate_graph)

FWD = "interacts"
REV = "rev_interacts"


def edge_set(graph: HeteroData, edge_type) -> set[tuple[int, int]]:
    return set(map(tuple, graph[edge_type].edge_index.t().tolist()))


def keys(edge_index: torch.Tensor, n: int) -> np.ndarray:
    return np.sort(edge_index[0].numpy() * n + edge_index[1].numpy())


# ------------------------------------------------------------------ bipartite
def test_bipartite_shapes_from_data(synthetic):
    graph = build_graph("bipartite", synthetic)
    assert set(graph.node_types) == {"user", *synthetic.domains}
    assert graph["user"].num_nodes == synthetic.num_users
    assert graph.domains == synthetic.domains
    assert not hasattr(graph, "target")
    for d in synthetic.domains:
        frame = synthetic.interactions(d)
        assert graph[d].num_nodes == synthetic.num_items(d)
        ei = graph["user", FWD, d].edge_index
        assert ei.dtype == torch.long and ei.shape == (2, len(frame))
        assert edge_set(graph, ("user", FWD, d)) == set(zip(frame["user"], frame["item"]))
        assert graph.raw_ids[d].equals(synthetic.item_ids[d])
    assert graph.raw_ids["user"].equals(synthetic.user_ids)
    assert graph.validate()


def test_reverse_edges_are_exact_transposes(synthetic):
    graph = build_graph("bipartite", synthetic)
    for d in synthetic.domains:
        fwd, rev = graph["user", FWD, d], graph[d, REV, "user"]
        assert torch.equal(rev.edge_index, fwd.edge_index.flip(0))
        assert torch.equal(rev.edge_attr, fwd.edge_attr)


def test_ratings_become_edge_attr(tiny):
    graph = build_graph("bipartite", tiny)
    attr = graph["user", FWD, "a"].edge_attr
    assert attr.shape == (8, 1) and attr.dtype == torch.float32
    rated = {(u, i): r for (u, i), r in zip(graph["user", FWD, "a"].edge_index.t().tolist(),
                                          attr.view(-1).tolist())}
    frame = tiny.interactions("a")
    assert rated == {(u, i): r for u, i, r in zip(frame["user"], frame["item"], frame["rating"])}
    assert rated[(0, 2)] == 3.0 and rated[(3, 3)] == 8.0


def test_no_rating_no_edge_attr(tiny):
    data = CrossDomainData.from_frames({d: tiny.interactions(d, raw=True) for d in tiny.domains})
    graph = build_graph("bipartite", data)
    assert "edge_attr" not in graph["user", FWD, "a"]


@pytest.mark.parametrize("make", [lambda d: splits.leave_one_out(d, "books", seed=1),
                                  lambda d: splits.cold_start(d, "movies", fraction=0.3)])
def test_split_excludes_held_out(synthetic, make):
    split = make(synthetic)
    graph = build_graph("bipartite", split)
    assert graph.target == split.target
    n = synthetic.num_items(split.target)
    edges = keys(graph["user", FWD, split.target].edge_index, n)
    for part in (split.valid, split.test):
        held = part["user"].to_numpy() * n + part["item"].to_numpy()
        assert len(held) and not np.isin(held, edges).any()
    for d in synthetic.domains:
        assert graph["user", FWD, d].num_edges == len(split.train[d])
    assert graph[split.target].num_nodes == n  # held-out items keep their index


# --------------------------------------------------------------- cooccurrence
def cooc(graph, d):
    store = graph[d, "cooccurs", d]
    return {(i, j): c for (i, j), c in zip(store.edge_index.t().tolist(), store.edge_attr.view(-1).tolist())}


@pytest.mark.parametrize("options, a_edges, b_edges", [
    ({}, {(0, 1): 2, (1, 2): 2}, {}),
    ({"min_count": 1}, {(0, 1): 2, (1, 2): 2, (0, 2): 1}, {(0, 1): 1}),
    ({"min_count": 1, "top_k": 1}, {(0, 1): 2, (1, 2): 2}, {(0, 1): 1}),
    ({"min_count": 1, "top_k": 1, "symmetrize": "mutual"}, {(0, 1): 2}, {(0, 1): 1}),
    ({"min_count": 1, "max_user_degree": 2}, {(0, 1): 1, (1, 2): 1}, {(0, 1): 1}),
])
def test_cooccurrence_exact_edges(tiny, options, a_edges, b_edges):
    graph = build_graph("cooccurrence", tiny, **options)
    sym = lambda e: {**e, **{(j, i): c for (i, j), c in e.items()}}  # noqa: E731
    assert cooc(graph, "a") == sym(a_edges)
    assert cooc(graph, "b") == sym(b_edges)
    assert graph["a", "cooccurs", "a"].edge_attr.shape[1] == 1
    assert edge_set(graph, ("user", FWD, "a")) == edge_set(build_graph("bipartite", tiny), ("user", FWD, "a"))


def dense_cooc(frame: pd.DataFrame, n_users: int, n_items: int, min_count: int) -> dict:
    X = np.zeros((n_users, n_items), np.int64)
    X[frame["user"], frame["item"]] = 1
    C = X.T @ X
    np.fill_diagonal(C, 0)
    rows, cols = np.nonzero(C >= min_count)
    return {(i, j): float(C[i, j]) for i, j in zip(rows, cols)}


@pytest.mark.parametrize("from_split", [False, True])
def test_cooccurrence_matches_dense_count(synthetic, from_split):
    source = splits.leave_one_out(synthetic, "music", seed=0) if from_split else synthetic
    graph = build_graph("cooccurrence", source, min_count=2)
    for d in synthetic.domains:
        frame = source.train[d] if from_split else synthetic.interactions(d)
        assert cooc(graph, d) == dense_cooc(frame, synthetic.num_users, synthetic.num_items(d), 2)


def test_cooccurrence_top_k_limits_choices(synthetic):
    graph = build_graph("cooccurrence", synthetic, min_count=1, top_k=3, symmetrize="mutual")
    for d in synthetic.domains:
        assert np.bincount(graph[d, "cooccurs", d].edge_index[0].numpy()).max() <= 3


def test_cooccurrence_bad_options():
    with pytest.raises(ValueError, match="min_count"):
        CooccurrenceBuilder(min_count=0)
    with pytest.raises(ValueError, match="symmetrize"):
        CooccurrenceBuilder(symmetrize="both")


# ------------------------------------------------------------------- registry
def test_resolution_by_name_class_and_object(tiny):
    assert {"bipartite", "cooccurrence"} <= set(available_builders())
    by_name = build_graph("Cooccurrence", tiny, min_count=1)
    by_class = build_graph(CooccurrenceBuilder, tiny, min_count=1)
    by_object = build_graph(CooccurrenceBuilder(min_count=1), tiny)
    for g in (by_class, by_object):
        assert cooc(g, "a") == cooc(by_name, "a")


def test_unknown_builder_lists_available(tiny):
    with pytest.raises(ValueError, match="bipartite"):
        build_graph("no-such-builder", tiny)


def test_options_ignored_for_object_are_logged(tiny, caplog):
    with caplog.at_level(logging.WARNING, logger="cdgraph.graph.base"):
        build_graph(BipartiteBuilder(), tiny, min_count=3)
    assert "min_count" in caplog.text


def test_user_module_builder(synthetic):
    from . import custom_builder  # noqa: F401  (registers "liked-only" from outside cdgraph)

    assert "liked-only" in available_builders()
    graph = build_graph("liked-only", synthetic, threshold=4)
    for d in synthetic.domains:
        frame = synthetic.interactions(d)
        assert graph["user", "likes", d].num_edges == int((frame["rating"] >= 4).sum())
        assert graph[d, "rev_likes", "user"].num_edges == graph["user", "likes", d].num_edges


def test_pyg_to_undirected_output_validates(tiny):
    graph = T.ToUndirected()(build_graph("cooccurrence", tiny, min_count=1))
    validate_graph(graph, tiny, builder="to-undirected")


# ------------------------------------------------------------ malformed builders
class _Broken(BipartiteBuilder):
    def build(self, split_or_data):
        graph = super().build(split_or_data)
        self.break_(graph)
        return graph


@register_builder("broken-node-type", overwrite=True)
class UnknownNodeType(_Broken):
    def break_(self, graph):
        graph["genre"].num_nodes = 3


@register_builder("broken-range", overwrite=True)
class OutOfRange(_Broken):
    def break_(self, graph):
        n = graph["a"].num_nodes
        graph["user", FWD, "a"].edge_index[1, 0] = n
        graph["a", REV, "user"].edge_index[0, 0] = n


@register_builder("broken-reverse", overwrite=True)
class MissingReverse(_Broken):
    def break_(self, graph):
        del graph["b", REV, "user"]


@register_builder("broken-transpose", overwrite=True)
class WrongTranspose(_Broken):
    def break_(self, graph):
        graph["a", REV, "user"].edge_index = graph["a", REV, "user"].edge_index.flip(0).clone()


@register_builder("broken-symmetry", overwrite=True)
class Asymmetric(_Broken):
    def break_(self, graph):
        graph["a", "similar", "a"].edge_index = torch.tensor([[0], [1]])


@register_builder("broken-count", overwrite=True)
class WrongNodeCount(_Broken):
    def break_(self, graph):
        graph["user"].num_nodes += 1


@register_builder("broken-attr", overwrite=True)
class OneSidedAttr(_Broken):
    def break_(self, graph):
        del graph["a", REV, "user"].edge_attr


@pytest.mark.parametrize("name, fragments", [
    ("broken-node-type", ["unknown node type", "'genre'"]),
    ("broken-range", ["('user', 'interacts', 'a')", "index 4", "4 'a' nodes"]),
    ("broken-reverse", ["('user', 'interacts', 'b')", "no reverse"]),
    ("broken-transpose", ["('a', 'rev_interacts', 'user')", "transposed"]),
    ("broken-symmetry", ["('a', 'similar', 'a')", "not symmetric"]),
    ("broken-count", ["'user'", "6 nodes"]),
    ("broken-attr", ["edge_attr"]),
])
def test_malformed_builder_raises_naming_it(tiny, name, fragments):
    with pytest.raises(ValueError) as info:
        build_graph(name, tiny)
    message = str(info.value)
    assert f"{name!r}" in message
    for fragment in fragments:
        assert fragment in message


def test_unregistered_subclass_named_by_class(tiny):
    class Local(_Broken):
        def break_(self, graph):
            graph["genre"].num_nodes = 1

    with pytest.raises(ValueError, match="'.*Local'"):
        build_graph(Local, tiny)


def test_builder_must_return_heterodata(tiny):
    class NotAGraph(GraphBuilder):
        def build(self, split_or_data):
            return {"user": 1}

    with pytest.raises(TypeError, match="NotAGraph"):
        build_graph(NotAGraph(), tiny)


def test_domain_named_like_graph_attribute():
    frames = {"domains": pd.DataFrame({"user": [1, 2], "item": [1, 2]}),
              "b": pd.DataFrame({"user": [1, 2], "item": [3, 4]})}
    with pytest.raises(ValueError, match="rename"):
        build_graph("bipartite", CrossDomainData.from_frames(frames))


def test_reverse_in_another_order_validates(tiny):
    graph = build_graph("bipartite", tiny)
    rev = graph["a", REV, "user"]
    perm = torch.randperm(rev.num_edges, generator=torch.Generator().manual_seed(0))
    rev.edge_index, rev.edge_attr = rev.edge_index[:, perm], rev.edge_attr[perm]
    validate_graph(graph, tiny, builder="permuted")
