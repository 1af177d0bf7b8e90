"""The configurable graph model: component combinations train and rank, options and protocols.

(What every registered model must do is in ``test_conformance.py``; here are the combinations
of components that no registered name covers, and what only the graph model has.)"""
from __future__ import annotations

import numpy as np
import pytest
import torch

import cdgraph
from cdgraph.models import make_model
from cdgraph.nn import Encoder, register_encoder
from cdgraph.nn.lightgcn import LightGCNEncoder

from ..planted import planted

FIT = dict(epochs=8, lr=0.02, batch_size=256, patience=None, progress=False)
MODELS = {
    "default": lambda: cdgraph.GraphRecommender("tgt", dim=16, layers=2),
    "bitgcf-concat-mlp": lambda: cdgraph.GraphRecommender("tgt", encoder="bitgcf", fusion="concat",
                                                                 scorer="mlp", dim=16, layers=2),
    "contrastive": lambda: cdgraph.GraphRecommender("tgt", alignment=["contrastive", "weight-sharing"],
                                                           encoder_options={"specific": True}, dim=16),
    "sage": lambda: cdgraph.GraphRecommender("tgt", encoder="sage", fusion="weighted", dim=16, layers=1),
}


@pytest.fixture(scope="module")
def data():
    return planted()


@pytest.fixture(scope="module")
def split(data):
    return cdgraph.data.split.leave_one_out(data, "tgt", seed=0)


@pytest.fixture(scope="module", params=sorted(MODELS))
def fitted(request, split):
    return request.param, MODELS[request.param]().fit(split, **FIT)


def test_recommend_excludes_seen_items(fitted, split, data):
    _, model = fitted
    users = list(data.user_ids[:20])
    recs = model.recommend(users, k=10)
    assert list(recs.columns) == ["user", "item", "score", "rank"]
    seen = split.raw("train")
    seen_pairs = set(zip(seen["user"], seen["item"]))
    assert not any((u, i) in seen_pairs for u, i in zip(recs["user"], recs["item"]))
    assert recs.groupby("user")["rank"].apply(lambda r: list(r) == sorted(r)).all()


def test_recommend_k_larger_than_catalogue_and_unknown_user(fitted, data):
    _, model = fitted
    recs = model.recommend(data.user_ids[0], k=10_000, exclude_seen=False)
    assert len(recs) == data.num_items("tgt")
    with pytest.raises(ValueError, match="Unknown user"):
        model.recommend([10 ** 9])
    assert model.recommend([10 ** 9, data.user_ids[1]], unknown="skip")["user"].nunique() == 1


def test_metrics_are_finite_and_beat_random(fitted, split):
    name, model = fitted
    full = model.evaluate(split, protocol="full", k=(5, 10))
    sampled = model.evaluate(split, protocol="sampled", num_negatives=20, k=(10,))
    assert all(np.isfinite(v) for v in full.values())
    # random ranking of 1 + 20 gives HR@10 ~ 10/21; the planted clusters make it easy
    assert sampled["HR@10"] > 0.6, (name, sampled)


def test_cold_user_gets_finite_scores(fitted, data):
    _, model = fitted
    scores = model.score_users(torch.arange(data.num_users))
    assert torch.isfinite(scores).all()


def test_history_and_early_stopping_restore_best(split):
    model = MODELS["default"]().fit(split, epochs=12, lr=0.05, batch_size=256, patience=2, progress=False)
    hist = model.history_
    assert {"epoch", "loss", "valid/NDCG@10"} <= set(hist.columns)
    best = hist["valid/NDCG@10"].max()
    assert model.evaluate(split, on="valid", k=(10,))["NDCG@10"] == pytest.approx(best)


def test_cross_domain_beats_target_only_on_planted_cold_users():
    data = planted(num_users=200, per_user=6, seed=1)
    split = cdgraph.data.split.cold_start(data, "tgt", fraction=0.3, seed=0)
    fit = dict(FIT, epochs=15)
    cross = cdgraph.GraphRecommender("tgt", dim=16, layers=2).fit(split, **fit)
    single = make_model("lightgcn-target", "tgt", dim=16, layers=2).fit(split, **fit)
    m_cross = cross.evaluate(split, protocol="sampled", num_negatives=20, k=(5,))
    m_single = single.evaluate(split, protocol="sampled", num_negatives=20, k=(5,))
    assert "cold/HR@5" in m_cross
    assert m_cross["cold/NDCG@5"] > m_single["cold/NDCG@5"] + 0.1


@register_encoder("test-mf")
class MFEncoder(LightGCNEncoder):
    """A user-defined encoder registered from a test module: plain MF on the joint tables."""

    def __init__(self, dim: int = 64, layers: int = 0) -> None:
        super().__init__(dim, 0, views="joint")


def test_user_defined_encoder_trains(split):
    model = cdgraph.GraphRecommender("tgt", encoder="test-mf", fusion="weighted", dim=16)
    model.fit(split, **FIT)
    assert model.history_["loss"].iloc[-1] < model.history_["loss"].iloc[0]
    assert isinstance(model.network_.encoder, MFEncoder)


def test_wrong_target_and_unknown_component(split):
    with pytest.raises(ValueError, match="recommends 'src'"):
        cdgraph.GraphRecommender("src").fit(split, **FIT)
    with pytest.raises(ValueError, match="Unknown encoder 'nope'"):
        cdgraph.GraphRecommender("tgt", encoder="nope").fit(split, **FIT)
    assert issubclass(MFEncoder, Encoder)


def test_classification_view(split):
    model = cdgraph.GraphRecommender("tgt", scorer="mlp", dim=16, layers=2, source_weight=1.0)
    model.fit(split, loss="bce", **FIT)
    out = model.evaluate(split, protocol="classification")
    assert set(out) >= {"accuracy", "precision", "recall", "f1", "auc"}
    assert 0.6 < out["auc"] <= 1.0, out


def test_auto_source_weight_searches_each_candidate(split):
    model = cdgraph.GraphRecommender("tgt", dim=16, layers=2)
    model.fit(split, source_weights=(0.0, 1.0), **FIT)
    assert set(model.source_search_) == {0.0, 1.0}
    assert model.source_weight_ == max(model.source_search_, key=model.source_search_.get)
    with pytest.raises(ValueError, match="non-negative number or 'auto'"):
        model.fit(split, source_weight=-1.0, **FIT)


@pytest.mark.realdata
def test_fixed_negatives_protocol_on_real_data(mirror):
    data = cdgraph.datasets.load("amazon-elec-phone", root=mirror)
    sp = cdgraph.data.split.predefined(data, "phone")
    pop = make_model("pop", "phone").fit(sp)
    fixed = pop.evaluate(sp, protocol="sampled", negatives="fixed", k=(10,), per_row=True)
    assert len(fixed) == len(sp.test)
    # popularity against Bi-TGCF's 99 fixed negatives: far better than a random rank (HR@10 ~ 0.1)
    assert 0.2 < fixed["HR@10"].mean() < 1.0
    with pytest.raises(ValueError, match="fixed test negatives"):
        pop.evaluate(sp, on="valid", protocol="sampled", negatives="fixed")


def test_auto_source_weight_without_validation_falls_back(data, caplog):
    split = cdgraph.data.split.leave_one_out(data, "tgt", seed=0, valid=False)
    model = cdgraph.GraphRecommender("tgt", dim=16, layers=2)
    with caplog.at_level("WARNING", logger="cdgraph.models.graph"):
        model.fit(split, **FIT)
    assert model.source_weight_ == 1.0 and "no" in caplog.text


@pytest.mark.parametrize("method", ["exact", "hnsw"])
def test_item_index_recommend_matches_exact_and_excludes_seen(split, data, method):
    pytest.importorskip("faiss") if method == "hnsw" else None
    model = MODELS["default"]().fit(split, **FIT)
    users = list(data.user_ids[:30])
    dense = model.recommend(users, k=5)
    fast = model.recommend(users, k=5, index=model.item_index(method))
    seen = set(zip(*[split.raw("train")[c] for c in ("user", "item")]))
    assert not any((u, i) in seen for u, i in zip(fast["user"], fast["item"]))
    overlap = len(set(zip(dense["user"], dense["item"])) & set(zip(fast["user"], fast["item"])))
    assert overlap / len(dense) > (0.999 if method == "exact" else 0.8)
    index = model.item_index(method)
    assert index.recall(model.user_vectors(torch.arange(20)), k=5) > (0.999 if method == "exact" else 0.8)


def test_search_epochs_validates_each_candidate_once_at_its_end(split):
    runs = {}
    model = cdgraph.GraphRecommender("tgt", dim=16, layers=2)
    model.fit(split, source_weights=(0.0, 1.0), search_epochs=3, callbacks=[lambda p, s: runs.__setitem__(p, s)],
              **FIT)
    searched = {p: s["history"] for p, s in runs.items() if "source-weight" in p}
    assert len(searched) == 2
    for history in searched.values():
        assert len(history) == 3
        assert ["valid/NDCG@10" in row for row in history] == [False, False, True]
    assert set(model.source_search_) == {0.0, 1.0}


@pytest.mark.parametrize("halving, rungs", [(1, (1, 4)), ("auto", (1, 4)), (2, (2, 4))])
def test_search_halving_continues_the_best_two_and_the_winner_as_if_trained_alone(split, halving, rungs):
    runs = {}
    model = cdgraph.GraphRecommender("tgt", dim=16, layers=2)
    model.fit(split, source_weights=(0.0, 0.5, 1.0, 3.0), search_halving=halving,
              callbacks=[lambda p, s: runs.__setitem__(p, s)], **FIT)
    lengths = {p.rsplit("/", 1)[1]: len(s["history"]) for p, s in runs.items() if "source-weight/" in p}
    # all for the first rung ("auto": a third of half of 8 epochs), the best two on to half of 8
    assert sorted(lengths.values()) == [rungs[0]] * 2 + [rungs[1]] * 2
    first = {float(w): max(row["valid/NDCG@10"] for row in runs[f"source-weight/{w}"]["history"][:rungs[0]])
             for w in lengths}  # each candidate's best validation within the first rung
    kept = {float(w) for w, n in lengths.items() if n == rungs[1]}
    assert min(first[w] for w in kept) >= max(first[w] for w in first if w not in kept)
    assert model.source_weight_ in kept and set(model.source_search_) == {0.0, 0.5, 1.0, 3.0}
    alone = cdgraph.GraphRecommender("tgt", dim=16, layers=2, source_weight=model.source_weight_).fit(split, **FIT)
    torch.testing.assert_close(model.final()[0], alone.final()[0])


@pytest.mark.parametrize("epochs", [1, 2, 3])
def test_search_halving_auto_fits_within_a_tiny_budget(split, epochs):
    fit = dict(FIT, epochs=epochs)
    model = cdgraph.GraphRecommender("tgt", dim=16, layers=2)
    model.fit(split, source_weights=(0.0, 0.5, 1.0), search_halving="auto", **fit)
    assert model.source_weight_ in (0.0, 0.5, 1.0) and len(model.history_) <= epochs


def test_max_steps_grows_the_batch_and_the_learning_rate():
    from cdgraph.train import TrainConfig
    from cdgraph.train.batches import step_size

    assert step_size(TrainConfig(batch_size=100, lr=0.01), 1000) == (100, 0.01)
    assert step_size(TrainConfig(batch_size=100, lr=0.01, max_steps=20), 1000) == (100, 0.01)
    batch, lr = step_size(TrainConfig(batch_size=100, lr=0.01, max_steps=4), 1000)
    assert batch == 250 and lr == pytest.approx(0.01 * 2.5 ** 0.5)


def test_max_steps_limits_the_steps_of_an_epoch(split, monkeypatch):
    from cdgraph.train import batches

    seen = []
    original = batches.Batches.__init__

    def spy(self, ctx, batch_size, source_weight):
        seen.append(batch_size)
        original(self, ctx, batch_size, source_weight)

    monkeypatch.setattr(batches.Batches, "__init__", spy)
    model = cdgraph.GraphRecommender("tgt", dim=16, layers=2, source_weight=1.0)
    model.fit(split, max_steps=1, **{**FIT, "epochs": 1})
    assert seen == [len(split.train["tgt"])]
