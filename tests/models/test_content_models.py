"""Models with item content: nothing changes without it, save/load keeps it, GraphMix and
content-knn use it."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import cdgraph

from ..graph.content_data import featured
from ..planted import planted

FIT = dict(epochs=5, lr=0.02, batch_size=256, patience=None, progress=False, source_weights=(0.5, 2.0))
SMALL = dict(dim=16, layers=2)


def sampled(model, split):
    return model.evaluate(split, protocol="sampled", num_negatives=20, k=(5, 10))


@pytest.fixture(scope="module")
def idonly():
    return cdgraph.data.leave_one_out(planted(num_users=120), "tgt", seed=0)


@pytest.fixture(scope="module")
def cold():
    return cdgraph.data.cold_items(featured(num_users=150, text=True), "tgt", fraction=0.2, seed=0)


TFIDF = dict(text_encoder="tfidf", text_options={"dim": 4, "cache": False})


@pytest.mark.parametrize("name,options", [
    ("graph", {}), ("cdgraph", {"bridge_options": {"layers": 1, "meta_epochs": 4}}),
    ("graph", {"encoder_options": {"views": "split"}, "fusion": "attention", "alignment": ["contrastive"]}),
])
def test_content_changes_nothing_when_absent(name, options, idonly):
    """Without item features, content='auto' and content=None fit exactly what the default fits."""
    fits = {content: cdgraph.make_model(name, "tgt", **SMALL, **options, **({} if content == "default" else
                                                                           {"content": content}))
            .fit(idonly, **FIT, seed=2) for content in ("default", None, "auto")}
    metrics = {content: sampled(m, idonly) for content, m in fits.items()}
    assert metrics["default"] == metrics[None] == metrics["auto"]
    users = torch.arange(idonly.data.num_users)
    assert torch.equal(fits["default"].score_users(users), fits[None].score_users(users))


def test_the_baselines_stay_id_only(cold):
    model = cdgraph.make_model("lightgcn-joint", "tgt", **SMALL).fit(cold, **FIT)
    assert model.ctx_.content is None and not model.network_.encoder.uses_content


def test_save_and_load_keep_the_content(cold, tmp_path):
    model = cdgraph.GraphRecommender("tgt", **SMALL, content="auto", content_bridge={"k": 2, "threshold": 0.3},
                                     **TFIDF).fit(cold, **FIT)
    model.save(tmp_path / "m.pt")
    loaded = cdgraph.load_model(tmp_path / "m.pt")
    assert not loaded.data_.item_feature_columns("tgt")  # the file keeps ids, not item features
    users = torch.arange(cold.data.num_users)
    assert torch.equal(model.score_users(users), loaded.score_users(users))
    assert torch.equal(model.ctx_.content["src"], loaded.ctx_.content["src"])
    for key, (a, b) in model.ctx_.item_edges.items():
        np.testing.assert_array_equal(a, loaded.ctx_.item_edges[key][0])
        np.testing.assert_array_equal(b, loaded.ctx_.item_edges[key][1])


def test_a_function_as_text_encoder(cold, tmp_path):
    def embed(texts):
        return np.stack([[t.count("tea"), t.count("pan"), t.count("paper"), t.count("paint")] for t in texts])

    model = cdgraph.GraphRecommender("tgt", **SMALL, content="auto", text_encoder=embed,
                                     text_options={"cache": False}).fit(cold, **FIT)
    assert model.ctx_.content["tgt"].shape[1] == 4
    model.save(tmp_path / "m.pt")   # the function is not saved, its vectors are
    assert cdgraph.load_model(tmp_path / "m.pt").config()["text_encoder"] is None


def test_graph_mix_uses_content_when_the_data_has_it(cold):
    mix = cdgraph.make_model("cdgraph", "tgt", **SMALL, bridge_options={"layers": 1, "meta_epochs": 4},
                             **TFIDF).fit(cold, **FIT)
    assert mix.graph_.ctx_.content is not None
    assert mix.target_only_ is None or mix.target_only_.ctx_.content is not None
    idonly = cdgraph.make_model("cdgraph", "tgt", **SMALL, content=None,
                                bridge_options={"layers": 1, "meta_epochs": 4}).fit(cold, **FIT)
    assert idonly.graph_.ctx_.content is None
    assert sampled(mix, cold)["NDCG@10"] > sampled(idonly, cold)["NDCG@10"] + 0.1


def test_content_knn_ranks_by_content_and_falls_back_to_cooccurrence(cold, idonly):
    knn = cdgraph.make_model("content-knn", "tgt", **TFIDF).fit(cold, **FIT)
    assert knn.source_ == "content"
    items = torch.from_numpy(cold.info["cold_items"])
    scores = knn.score_users(torch.arange(cold.data.num_users))[:, items]
    assert torch.isfinite(scores).all() and scores.std() > 0
    pop = cdgraph.make_model("pop", "tgt").fit(cold, **FIT)
    assert sampled(knn, cold)["NDCG@10"] > sampled(pop, cold)["NDCG@10"] + 0.1
    fallback = cdgraph.make_model("content-knn", "tgt", dim=8).fit(idonly, **FIT)
    assert fallback.source_ == "cooccurrence"
    with pytest.raises(ValueError, match="no item features"):
        cdgraph.make_model("content-knn", "tgt", fallback=False).fit(idonly, **FIT)
    untrained = cdgraph.make_model("content-knn", "tgt", **TFIDF).fit(cold, **{**FIT, "epochs": 0})
    assert not untrained.users_.any()


def test_content_options_are_checked():
    with pytest.raises(ValueError, match="content_bridge joins items"):
        cdgraph.GraphRecommender("tgt", content_bridge={"k": 3})
    with pytest.raises(ValueError, match="unknown key"):
        cdgraph.GraphRecommender("tgt", content="auto", content_bridge={"neighbours": 3})
    with pytest.raises(ValueError, match="unknown text_encoder"):
        cdgraph.GraphRecommender("tgt", content="auto", text_encoder="word-llama")
    with pytest.raises(TypeError, match="content must be"):
        cdgraph.GraphRecommender("tgt", content=3)


def test_remove_top_post_processes_the_text_vectors_of_every_domain_together(cold):
    from cdgraph.graph.content import item_content, unit_rows
    from cdgraph.text.postprocess import all_but_the_top

    options = {"dim": 4, "cache": False}
    knn = cdgraph.make_model("content-knn", "tgt", text_encoder="tfidf",
                             text_options={**options, "remove_top": 1}).fit(cold, **FIT)
    raw = item_content(cold.data, "auto", "tfidf", options)
    flat = all_but_the_top(np.concatenate([raw[d] for d in cold.data.domains]), 1)
    start = sum(cold.data.num_items(d) for d in cold.data.domains[:cold.data.domains.index("tgt")])
    expected = unit_rows({"tgt": flat[start:start + cold.data.num_items("tgt")]})["tgt"]
    np.testing.assert_allclose(knn.items_.numpy(), expected, atol=1e-5)
    plain = cdgraph.make_model("content-knn", "tgt", **TFIDF).fit(cold, **FIT)
    assert not torch.allclose(knn.items_, plain.items_)


def test_the_models_content_takes_the_encoders_post_processing(cold):
    from cdgraph.graph.content import item_content

    class Centred(cdgraph.text.TextEncoder):
        remove_top = 0  # centre only

        def embed(self, texts):
            return np.array([[len(t), t.count("tea") + 5.0, t.count("pan") + 5.0] for t in texts])

    content = item_content(cold.data, "auto", Centred(), {"cache": False})
    raw = item_content(cold.data, "auto", Centred(), {"cache": False, "remove_top": None})
    rows = np.concatenate([content[d] for d in cold.data.domains])
    has = np.abs(np.concatenate([raw[d] for d in cold.data.domains])).sum(1) > 0
    np.testing.assert_allclose(rows[has].mean(0), 0.0, atol=1e-4)
    assert np.abs(np.concatenate([raw[d] for d in cold.data.domains])[has].mean(0)).max() > 1


def test_graph_mix_ranks_new_items_by_content_as_content_knn_does(cold):
    options = dict(**SMALL, bridge_options={"layers": 1, "meta_epochs": 4}, **TFIDF)
    mix = cdgraph.make_model("cdgraph", "tgt", **options).fit(cold, **FIT)
    knn = cdgraph.make_model("content-knn", "tgt", **TFIDF).fit(cold, **FIT)
    trained = np.unique(cold.train["tgt"]["item"].to_numpy())
    new = torch.from_numpy(np.setdiff1d(np.arange(cold.data.num_items("tgt")), trained))
    assert mix.new_items_ == len(new) >= 5
    users = torch.from_numpy(np.unique(cold.test["user"].to_numpy()))
    a, b = mix.score_users(users)[:, new], knn.score_users(users)[:, new]
    has_profile = b.abs().sum(1) > 0
    assert has_profile.sum() > 10
    # per user, the same order of the new items (scores are a positive affine map of the kNN's)
    corr = [np.corrcoef(x.numpy(), y.numpy())[0, 1] for x, y in zip(a[has_profile], b[has_profile])]
    assert min(corr) > 0.9999
    graph_scored = cdgraph.make_model("cdgraph", "tgt", **options, new_items=None).fit(cold, **FIT)
    assert graph_scored.new_items_ == 0
    old = torch.from_numpy(trained)  # trained items keep the scores the mix gives them either way
    torch.testing.assert_close(mix.score_users(users)[:, old].argsort(1), graph_scored.score_users(users)[:, old].argsort(1))
    with pytest.raises(ValueError, match="new_items must be"):
        cdgraph.make_model("cdgraph", "tgt", new_items="knn")


def test_new_item_weight_lifts_new_items_without_reordering_them(cold):
    options = dict(**SMALL, bridge_options={"layers": 1, "meta_epochs": 4}, **TFIDF)
    low = cdgraph.make_model("cdgraph", "tgt", **options, new_item_weight=0.2).fit(cold, **FIT)
    high = cdgraph.make_model("cdgraph", "tgt", **options).fit(cold, **FIT)
    assert low.config()["new_item_weight"] == 0.2
    new = torch.from_numpy(np.setdiff1d(np.arange(cold.data.num_items("tgt")),
                                        cold.train["tgt"]["item"].to_numpy()))
    users = torch.from_numpy(np.unique(cold.test["user"].to_numpy()))
    a, b = low.score_users(users), high.score_users(users)
    torch.testing.assert_close(a[:, new] * 5, b[:, new])  # new items: the content part alone, scaled
    share = [float(np.isin(s.topk(5).indices.numpy(), new.numpy()).mean()) for s in (a, b)]
    assert share[0] < share[1]
    with pytest.raises(ValueError, match="new_item_weight must be positive"):
        cdgraph.make_model("cdgraph", "tgt", new_item_weight=0)
