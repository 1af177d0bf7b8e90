"""Item content in the graph: content vectors, the content bridge, and the builder's x."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import cdgraph
from cdgraph.data.split import Split
from cdgraph.graph import build_graph
from cdgraph.graph.content import content_bridge, item_content, nearest_neighbors, unit_rows

from .content_data import featured


def _vectors(seed=0, sizes=(30, 25, 20), width=6):
    rng = np.random.default_rng(seed)
    return {d: rng.standard_normal((n, width)).astype(np.float32) for d, n in zip("abc", sizes)}


@pytest.mark.parametrize("k,threshold", [(1, -1.0), (3, 0.2), (5, 0.6)])
def test_nearest_neighbors_respect_k_and_threshold(k, threshold):
    v = unit_rows(_vectors())
    q, j, s = nearest_neighbors(v["a"], v["b"], k, threshold, chunk=7)
    assert np.bincount(q, minlength=30).max() <= k and (s >= threshold).all()
    exact = v["a"] @ v["b"].T
    np.testing.assert_allclose(s, exact[q, j], rtol=1e-5, atol=1e-6)
    kth = -np.sort(-exact, axis=1)[:, k - 1]   # every kept neighbour is at least the row's k-th best
    assert (s >= kth[q] - 1e-6).all()


def test_faiss_and_chunked_search_agree():
    pytest.importorskip("faiss")
    v = unit_rows(_vectors(1))
    by_faiss = nearest_neighbors(v["a"], v["c"], 4, 0.0)
    chunked = nearest_neighbors(v["a"], v["c"], 4, 0.0, chunk=5)
    np.testing.assert_array_equal(by_faiss[0], chunked[0])
    np.testing.assert_array_equal(by_faiss[1], chunked[1])


@pytest.mark.parametrize("mutual", [False, True])
def test_content_bridge_joins_items_of_different_domains(mutual):
    vectors = _vectors(2)
    vectors["b"][:5] = 0  # items without content get no edge
    k, threshold = 3, 0.3
    edges = content_bridge(vectors, k=k, threshold=threshold, mutual=mutual)
    assert set(edges) == {("a", "b"), ("a", "c"), ("b", "c")}  # cross-domain pairs only
    unit = unit_rows(vectors)
    for (a, b), (ia, ib, sim) in edges.items():
        assert len(ia) and (sim >= threshold - 1e-6).all()
        np.testing.assert_allclose(sim, (unit[a][ia] * unit[b][ib]).sum(1), rtol=1e-5)
        assert len(set(zip(ia, ib))) == len(ia)
        if b == "b" or a == "b":
            assert not np.isin(ib if b == "b" else ia, np.arange(5)).any()
        chose_a = {(i, j) for i, j in zip(*nearest_neighbors(unit[a], unit[b], k, threshold)[:2])}
        chose_b = {(i, j) for j, i in zip(*nearest_neighbors(unit[b], unit[a], k, threshold)[:2])}
        pairs = set(zip(ia.tolist(), ib.tolist()))
        assert pairs == ((chose_a & chose_b) if mutual else (chose_a | chose_b))
        if mutual:
            assert np.bincount(ia).max() <= k and np.bincount(ib).max() <= k


def test_item_content_encodes_text_of_every_domain_in_one_space():
    data = featured(text=True)
    content = item_content(data, "auto", text_encoder="tfidf", text_options={"dim": 4, "cache": False})
    assert set(content) == {"src", "tgt"} and content["src"].shape == (data.num_items("src"), 4)
    src_ids, tgt_ids = np.asarray(data.item_ids["src"]), np.asarray(data.item_ids["tgt"])
    i, j = int(np.flatnonzero(src_ids // 10 == 2)[0]), int(np.flatnonzero(tgt_ids // 10 == 2)[0])
    assert content["src"][i] @ content["tgt"][j] > 0.5       # same block in both domains: alike
    assert item_content(cdgraph.datasets.synthetic(num_users=50, items_per_domain=20,
                                                   interactions_per_domain=200), "auto") is None
    with pytest.raises(ValueError, match="no domain has the item feature column"):
        item_content(data, ["price"])


def test_item_content_refuses_vectors_of_different_widths():
    data = featured()
    data.set_item_features("tgt", pd.DataFrame({"item": data.item_ids["tgt"],
                                                "vec": [np.zeros(3, np.float32)] * data.num_items("tgt")}))
    with pytest.raises(ValueError, match="different widths"):
        item_content(data, "auto")


def test_bipartite_builder_adds_x_and_the_content_bridge_without_shared_users():
    data = featured()
    split = cdgraph.data.leave_one_out(data, "tgt", seed=0)
    shared = np.intersect1d(split.train["src"]["user"], split.train["tgt"]["user"])
    train = dict(split.train)  # no user keeps a history in both domains
    train["src"] = train["src"][~train["src"]["user"].isin(shared[: len(shared) // 2])]
    train["tgt"] = train["tgt"][~train["tgt"]["user"].isin(shared[len(shared) // 2:])]
    unshared = Split(data, "tgt", train, split.valid, split.test, kind="no-bridge")
    assert not len(np.intersect1d(train["src"]["user"], train["tgt"]["user"]))
    graph = build_graph("bipartite", unshared, content="auto", content_bridge={"k": 2, "threshold": 0.5})
    assert graph["src"].x.shape == (data.num_items("src"), 4)
    store = graph["src", "similar", "tgt"]
    assert store.edge_index.size(1) > 0 and (store.edge_attr >= 0.5 - 1e-6).all()
    assert graph.num_edges and ("tgt", "rev_similar", "src") in graph.edge_types
    given = build_graph("cooccurrence", data, content={"src": np.ones((data.num_items("src"), 2))})
    assert given["src"].x.shape[1] == 2 and not given["tgt"].x.abs().sum()
    model = cdgraph.GraphRecommender("tgt", dim=8, layers=2, content="auto", source_weight=1.0,
                                     content_bridge={"k": 2, "threshold": 0.5})
    model.fit(unshared, epochs=2, batch_size=256, progress=False)
    assert model.ctx_.item_edges[("src", "tgt")][0].size > 0
    assert np.isfinite(model.evaluate(unshared, protocol="sampled", num_negatives=20)["NDCG@10"])
