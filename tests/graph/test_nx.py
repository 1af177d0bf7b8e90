from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd
import torch

from cdgraph.graph import build_graph, graph_stats, to_networkx


def test_to_networkx_nodes_and_attributes(tiny):
    G = to_networkx(build_graph("bipartite", tiny))
    assert type(G) is nx.Graph
    assert G.number_of_nodes() == 5 + 4 + 2
    assert G.number_of_edges() == 8 + 4
    assert G.nodes["user", 0] == {"type": "user", "domain": None, "raw_id": "u0"}
    assert G.nodes["a", 3] == {"type": "item", "domain": "a", "raw_id": "i3"}
    assert G.nodes["b", 1] == {"type": "item", "domain": "b", "raw_id": "j1"}
    assert G.edges[("user", 3), ("a", 3)] == {"relation": "interacts", "weight": 8.0}
    assert G.graph["domains"] == ["a", "b"] and G.graph["target"] is None
    assert sorted(G.neighbors(("user", 1))) == [("a", 0), ("a", 1), ("b", 0), ("b", 1)]


def test_to_networkx_cooccurrence_edges_once(tiny):
    G = to_networkx(build_graph("cooccurrence", tiny, min_count=2))
    assert G.number_of_edges() == 12 + 2  # interactions + {i0-i1, i1-i2}
    assert G.edges[("a", 0), ("a", 1)] == {"relation": "cooccurs", "weight": 2.0}
    assert not G.has_edge(("a", 0), ("a", 2))


def test_to_networkx_multigraph_when_relations_share_node_types(tiny):
    graph = build_graph("bipartite", tiny)
    graph["user", "clicks", "a"].edge_index = torch.tensor([[0], [1]])
    graph["a", "rev_clicks", "user"].edge_index = torch.tensor([[1], [0]])
    G = to_networkx(graph)
    assert isinstance(G, nx.MultiGraph)
    assert G.number_of_edges(("user", 0), ("a", 1)) == 2


def test_graph_stats_tiny(tiny):
    stats = graph_stats(build_graph("bipartite", tiny))
    assert stats["num_nodes"] == {"user": 5, "a": 4, "b": 2}
    assert stats["num_edges"] == {("user", "interacts", "a"): 8, ("user", "interacts", "b"): 4}
    # {u0, u1, u2, u4, i0, i1, i2, j0, j1} and {u3, i3}
    assert stats["num_components"] == 2
    assert stats["largest_component"] == 9
    assert stats["isolated_nodes"] == 0
    expected = pd.DataFrame({"user": {1: 2, 2: 1, 3: 0, 4: 2},   # u3 u4 | u2 | u0 u1
                             "a": {1: 1, 2: 2, 3: 1, 4: 0},      # i3 | i0 i2 | i1
                             "b": {1: 0, 2: 2, 3: 0, 4: 0}})     # j0 j1
    pd.testing.assert_frame_equal(stats["degree"], expected.rename_axis("degree"),
                                  check_dtype=False)
    assert stats["degree_summary"].loc["max", "user"] == 4
    assert stats["bridging_users"] == 2  # u0, u1
    assert stats["bridging_pairs"].to_dict("records") == [{"a": "a", "b": "b", "users": 2}]


def test_graph_stats_held_out_pair_isolates_nodes(tiny):
    from cdgraph.data.split import Split

    a = tiny.interactions("a")
    held = (a["user"] == 3).to_numpy()  # u3's only interaction, (u3, i3)
    s = Split(tiny, "a", {"a": a[~held], "b": tiny.interactions("b")}, valid=a[held].iloc[:0],
              test=a[held])
    stats = graph_stats(build_graph("bipartite", s))
    assert stats["isolated_nodes"] == 2  # u3 and i3
    assert stats["num_components"] == 3 and stats["largest_component"] == 9
    assert stats["degree"].loc[0].to_dict() == {"user": 1, "a": 1, "b": 0}


def test_graph_stats_agree_with_networkx(synthetic):
    graph = build_graph("cooccurrence", synthetic, min_count=3)
    stats = graph_stats(graph)
    G = to_networkx(graph)
    components = list(nx.connected_components(G))
    assert stats["num_components"] == len(components)
    assert stats["largest_component"] == max(map(len, components))
    for node_type in graph.node_types:
        degrees = pd.Series([G.degree[(node_type, i)] for i in range(graph[node_type].num_nodes)])
        got = stats["degree"][node_type]
        assert got[got > 0].to_dict() == degrees.value_counts().to_dict()


def test_graph_stats_bridging_matches_data(synthetic):
    stats = graph_stats(build_graph("bipartite", synthetic))
    pairs = {(r["a"], r["b"]): r["users"] for r in stats["bridging_pairs"].to_dict("records")}
    assert pairs == {(a, b): len(synthetic.shared_users(a, b))
                     for i, a in enumerate(synthetic.domains) for b in synthetic.domains[i + 1:]}
    active = np.zeros(synthetic.num_users, np.int64)
    for d in synthetic.domains:
        active[synthetic.users(d)] += 1
    assert stats["bridging_users"] == int((active >= 2).sum())
