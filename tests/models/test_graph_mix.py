"""GraphMix: the joint graph mixed with a PTUPCDR bridge for cold users and a target-only
LightGCN for warm users, weights chosen on validation."""
from __future__ import annotations

import dataclasses

import pandas as pd
import pytest
import torch

import cdgraph
from cdgraph.models import make_model
from cdgraph.models.factors import active
from cdgraph.models.graph_mix import GraphMix, _standardised

from ..planted import planted, planted_cold_start

FIT = dict(epochs=8, lr=0.02, batch_size=256, patience=None, progress=False,
           valid_protocol="sampled", valid_negatives=20, valid_metric="MRR")
GRAPH = dict(dim=16, layers=2, source_weight=1.0)
BRIDGE = dict(layers=1, meta_epochs=5, meta_lr=0.01, meta_batch_size=64)


@pytest.fixture(scope="module")
def split():
    return planted_cold_start()


@pytest.fixture(scope="module")
def fitted(split):
    return GraphMix("tgt", probe=None, bridge_options=BRIDGE, **GRAPH).fit(split, **FIT)


def test_standardised_factors_give_per_user_z_scores():
    g = torch.Generator().manual_seed(0)
    users, items = torch.randn(30, 8, generator=g), torch.randn(50, 8, generator=g) + 0.5
    scores = users @ items.t()
    z = (scores - scores.mean(1, keepdim=True)) / scores.std(1, keepdim=True)
    u, i = _standardised(users, items)
    torch.testing.assert_close(u @ i.t(), z, atol=1e-4, rtol=1e-4)


def test_beta_is_chosen_on_validation_and_only_cold_users_are_mixed(split, fitted):
    # a cold-start split holds out cold users only: a bridge, no target-only model
    assert fitted.bridge_ is not None and fitted.target_only_ is None and fitted.gamma_ == 0.0
    scores = fitted.valid_scores_["beta"]
    assert set(fitted.valid_scores_) == {"beta"} and set(scores) == set(fitted.weights)
    assert scores[fitted.beta_] == max(scores.values())
    again = fitted.evaluate(split, on="valid", protocol="sampled", num_negatives=20, k=(10,))
    assert again["MRR"] == pytest.approx(scores[fitted.beta_])
    cold = torch.from_numpy(active(split, split.sources) & ~active(split, "tgt"))
    assert cold[torch.from_numpy(split.cold_users)].all()
    graph_part, bridge_part = fitted.users_.split(GRAPH["dim"], dim=1)
    assert (bridge_part[~cold] == 0).all()  # warm users: the graph model's scores alone
    if fitted.beta_ > 0:
        assert bridge_part[cold].abs().sum(1).min() > 0


def test_graph_bridge_maps_the_graph_models_factors_and_trains_no_factor_model(split):
    # the published bridge (the default, "separate") first trains a factor model per domain;
    # "graph" trains its network alone, over the graph model's embeddings
    loops = {}
    for kind in ("graph", "separate"):
        seen = loops[kind] = set()
        model = GraphMix("tgt", weights=[0.0, 1.0], bridge_factors=kind, probe=None, bridge_options=BRIDGE,
                         **GRAPH)
        model.fit(split, callbacks=[lambda path, state, seen=seen: seen.add(path)], **FIT)
        same_items = torch.equal(model.bridge_.items_, model.graph_.final()[1])
        assert same_items == (kind == "graph")
        if kind == "graph":  # cold users' bridged factors differ from the graph's own: the bridge moved them
            cold = torch.from_numpy(split.cold_users)
            assert not torch.allclose(model.bridge_.users_[cold], model.graph_.final()[0][cold])
    assert loops["graph"] == {"graph/train", "bridge/train"}
    assert loops["separate"] == {"graph/train", "bridge/target/train", "bridge/source/train", "bridge/train"}


def test_weight_zero_ranks_as_the_graph_model(split):
    only_graph = GraphMix("tgt", weights=[0.0], bridge_options=BRIDGE, **GRAPH).fit(split, **FIT)
    a = only_graph.evaluate(split, protocol="sampled", num_negatives=20, k=(5, 10))
    b = only_graph.graph_.evaluate(split, protocol="sampled", num_negatives=20, k=(5, 10))
    for key in ("MRR", "NDCG@10", "HR@5"):
        assert a[key] == pytest.approx(b[key], abs=1e-6)


@pytest.mark.parametrize("factors", ["separate", "graph"])
@pytest.mark.parametrize("weights", [(0.0,), (1.0,)])
def test_probe_tries_a_bridge_over_the_graph_models_factors_first(split, weights, factors):
    # weight 0 only: the try earns nothing and no bridge trains further; weight 1 only: the
    # bridge of bridge_factors trains (the try itself when that is "graph")
    paths = set()
    model = GraphMix("tgt", weights=weights, bridge_factors=factors, probe=0.25, bridge_options=BRIDGE,
                     **GRAPH)
    model.fit(split, callbacks=[lambda path, state: paths.add(path)], **FIT)
    tried = "bridge/probe/train" if factors == "separate" else "bridge/train"
    if weights == (0.0,):
        assert model.bridge_ is None and model.beta_ == 0.0 and set(model.valid_scores_) == {"probe/beta"}
        assert paths == {"graph/train", tried}
    else:
        assert model.bridge_ is not None and model.beta_ == 1.0
        assert set(model.valid_scores_) == {"probe/beta", "beta"}
        if factors == "separate":  # its own factor models, then its network
            assert paths == {"graph/train", tried, "bridge/target/train", "bridge/source/train",
                             "bridge/train"}
            assert not torch.equal(model.bridge_.items_, model.graph_.final()[1])
        else:
            assert paths == {"graph/train", "bridge/train"}


@pytest.fixture(scope="module")
def warm_split():
    return cdgraph.data.split.leave_one_out(planted(num_users=120, seed=2), "tgt")


def test_warm_split_mixes_a_target_only_model_and_trains_no_bridge(warm_split):
    model = GraphMix("tgt", probe=None, bridge_options=BRIDGE, **GRAPH).fit(warm_split, **FIT)
    assert model.bridge_ is None and model.beta_ == 0.0 and model.target_only_ is not None
    assert model.target_only_.source_weight_ == 0.0  # the target's graph alone
    scores = model.valid_scores_["gamma"]
    assert set(model.valid_scores_) == {"gamma"} and scores[model.gamma_] == max(scores.values())
    again = model.evaluate(warm_split, on="valid", protocol="sampled", num_negatives=20, k=(10,))
    assert again["MRR"] == pytest.approx(scores[model.gamma_])
    # the mix is the chosen weighting of the two models' per-user z-scores
    users = torch.arange(30)
    z = [(s - s.mean(1, keepdim=True)) / s.std(1, keepdim=True)
         for s in (model.graph_.score_users(users).detach(), model.target_only_.score_users(users).detach())]
    expected = (1 - model.gamma_) * z[0] + model.gamma_ * z[1]
    torch.testing.assert_close(model.score_users(users), expected, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("weights", [(0.0,), (1.0,)])
def test_probe_drops_a_target_only_part_that_adds_nothing_and_continues_one_that_does(warm_split, weights):
    # weight 0 only: the probe's best weight is 0, so the part stops after its probe; weight 1
    # only: it is kept, and the probe's run continues to the full epochs rather than restarting
    seen = []
    model = GraphMix("tgt", weights=weights, probe=0.25, bridge_options=BRIDGE, **GRAPH)
    model.fit(warm_split, callbacks=[lambda path, state: seen.append((path, state["epoch"]))], **FIT)
    assert set(model.valid_scores_) == ({"probe/gamma"} if weights == (0.0,) else {"probe/gamma", "gamma"})
    probe = [epoch for path, epoch in seen if path.startswith("target-only/probe/")]
    assert probe == [1, 2]  # a quarter of 8 epochs
    rest = [epoch for path, epoch in seen if path == "target-only"]
    if weights == (0.0,):
        assert model.target_only_ is None and model.gamma_ == 0.0 and rest == []
        users = torch.arange(20)  # exactly the graph model
        torch.testing.assert_close(model.score_users(users), model.graph_.score_users(users).detach())
    else:
        assert model.target_only_ is not None and model.gamma_ == 1.0
        assert rest == list(range(3, FIT["epochs"] + 1))  # epochs 3..8 of the same run
        assert list(model.target_only_.history_["epoch"]) == list(range(1, FIT["epochs"] + 1))
    with pytest.raises(ValueError, match="probe"):
        GraphMix("tgt", probe=0.0)


def test_without_validation_every_part_trains_in_full_at_weight_half(warm_split, caplog):
    # nothing to probe on, nothing to choose by: the test users' part trains, mixed at 0.5
    no_valid = dataclasses.replace(warm_split, valid=warm_split.valid.iloc[:0])
    with caplog.at_level("WARNING", logger="cdgraph.models.graph_mix"):
        model = GraphMix("tgt", bridge_options=BRIDGE, **GRAPH).fit(no_valid, **{**FIT, "patience": None})
    assert model.target_only_ is not None and model.gamma_ == 0.5 and model.valid_scores_ == {}
    assert "needs validation interactions" in caplog.text
    assert len(model.target_only_.history_) == FIT["epochs"]


def test_split_without_held_out_users_needing_a_part_is_the_graph_model(warm_split):
    model = GraphMix("tgt", bridge_options=BRIDGE, **GRAPH)
    nothing_held_out = dataclasses.replace(warm_split, valid=warm_split.valid.iloc[:0],
                                           test=warm_split.test.iloc[:0])
    model.fit(nothing_held_out, **FIT)
    assert model.bridge_ is None and model.target_only_ is None
    torch.testing.assert_close(model.users_, model.graph_.final()[0])


def test_a_part_few_validation_users_need_is_not_trained(split):
    # two cold validation users among sixty warm ones (3 %): the bridge trains only when
    # min_part_share allows it; the target-only model trains either way
    train_tgt = split.train["tgt"]
    moved = train_tgt.groupby("user").tail(1).head(60)
    valid = pd.concat([split.valid.drop_duplicates("user").head(2), moved], ignore_index=True)
    mixed = dataclasses.replace(split, train={**split.train, "tgt": train_tgt.drop(moved.index)}, valid=valid)
    parts = {}
    for share in (0.01, 0.05):
        model = GraphMix("tgt", weights=[0.0, 1.0], min_part_share=share, probe=None, bridge_options=BRIDGE,
                         **GRAPH)
        model.fit(mixed, **FIT)
        parts[share] = set(model.valid_scores_)
        assert model.target_only_ is not None
        assert (model.bridge_ is None) == (share == 0.05)
    assert parts == {0.01: {"beta", "gamma"}, 0.05: {"gamma"}}
    with pytest.raises(ValueError, match="min_part_share"):
        GraphMix("tgt", min_part_share=1.5)


def test_refuses_non_dot_scorer_and_bad_weights(split):
    with pytest.raises(ValueError, match="scorer must be 'dot'"):
        GraphMix("tgt", scorer="mlp", **GRAPH).fit(split, **FIT)
    with pytest.raises(ValueError, match=r"weights must be in \[0, 1\]"):
        GraphMix("tgt", weights=[0.5, 1.5])
    with pytest.raises(ValueError, match="bridge_factors must be one of"):
        GraphMix("tgt", bridge_factors="joint")


def test_registered_as_the_cdgraph_method():
    assert isinstance(make_model("cdgraph", "tgt"), GraphMix)


def test_saved_factor_model_loads_safely_and_scores_the_same(split, fitted, tmp_path):
    path = tmp_path / "bridge.pt"
    fitted.save(path)
    loaded = cdgraph.load_model(path)
    users = torch.arange(20)
    assert torch.equal(loaded.score_users(users), fitted.score_users(users))
    raw = split.data.user_ids[split.cold_users[:3]]
    assert loaded.recommend(raw, k=5).equals(fitted.recommend(raw, k=5))
    assert loaded.evaluate(split, protocol="full", k=(10,)) == fitted.evaluate(split, protocol="full", k=(10,))
    state = torch.load(path, weights_only=True)
    state["model"]["users"][0, 0] += 1.0
    torch.save(state, path)
    with pytest.raises(ValueError, match="is corrupt"):
        cdgraph.load_model(path)


@pytest.mark.parametrize("source_epochs", [3, "target"])
def test_bridge_source_factors_train_as_long_as_asked(split, source_epochs):
    # the source factors have no validation to stop them: an int caps them, "target" trains them
    # as many epochs as the target factors ran (patience 1 may stop those early)
    last = {}
    model = cdgraph.models.PTUPCDR("tgt", dim=16, source_epochs=source_epochs, **BRIDGE)
    model.fit(split, callbacks=[lambda path, state: last.__setitem__(path, state["epoch"])],
              **{**FIT, "patience": 1})
    ran = last["target/train"]
    assert last["source/train"] == (3 if source_epochs == 3 else ran)
    with pytest.raises(ValueError, match="source_epochs"):
        cdgraph.models.PTUPCDR("tgt", source_epochs="all")
