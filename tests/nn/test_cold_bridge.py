"""ColdBridge: the joint graph with a PTUPCDR bridge mixed in for cold users, weight chosen on validation."""
from __future__ import annotations

import pytest
import torch

import cdgraph
from cdgraph.methods import make_method
from cdgraph.methods.cold_bridge import ColdBridge, _cold_users, _standardised

from .planted import planted

FIT = dict(epochs=8, lr=0.02, batch_size=256, patience=None, progress=False,
           valid_protocol="sampled", num_negatives=20, valid_metric="MRR")
GRAPH = dict(dim=16, layers=2, source_weight=1.0)
BRIDGE = dict(layers=1, meta_epochs=5, meta_lr=0.01, meta_batch_size=64)


@pytest.fixture(scope="module")
def split():
    return cdgraph.split.cold_start(planted(num_users=200, per_user=6, seed=1), "tgt", fraction=0.3, seed=0)


@pytest.fixture(scope="module")
def fitted(split):
    return ColdBridge("tgt", bridge_options=BRIDGE, **GRAPH).fit(split, **FIT)


def test_standardised_factors_give_per_user_z_scores():
    g = torch.Generator().manual_seed(0)
    users, items = torch.randn(30, 8, generator=g), torch.randn(50, 8, generator=g) + 0.5
    scores = users @ items.t()
    z = (scores - scores.mean(1, keepdim=True)) / scores.std(1, keepdim=True)
    u, i = _standardised(users, items)
    torch.testing.assert_close(u @ i.t(), z, atol=1e-4, rtol=1e-4)


def test_beta_is_chosen_on_validation_and_only_cold_users_are_mixed(split, fitted):
    assert fitted.bridge_ is not None and set(fitted.valid_scores_) == set(fitted.betas)
    assert fitted.valid_scores_[fitted.beta_] == max(fitted.valid_scores_.values())
    again = fitted.evaluate(split, on="valid", protocol="sampled", num_negatives=20, k=(10,))
    assert again["MRR"] == pytest.approx(fitted.valid_scores_[fitted.beta_])
    cold = torch.zeros(len(fitted.users_), dtype=torch.bool)
    cold[torch.from_numpy(_cold_users(split))] = True
    assert set(split.cold_users) <= set(_cold_users(split))
    graph_part, bridge_part = fitted.users_.split(GRAPH["dim"], dim=1)
    assert (bridge_part[~cold] == 0).all()  # warm users: the graph model's scores alone
    if fitted.beta_ > 0:
        assert bridge_part[cold].abs().sum(1).min() > 0


def test_beta_zero_ranks_as_the_graph_model(split):
    only_graph = ColdBridge("tgt", betas=[0.0], bridge_options=BRIDGE, **GRAPH).fit(split, **FIT)
    a = only_graph.evaluate(split, protocol="sampled", num_negatives=20, k=(5, 10))
    b = only_graph.graph_.evaluate(split, protocol="sampled", num_negatives=20, k=(5, 10))
    for key in ("MRR", "NDCG@10", "HR@5"):
        assert a[key] == pytest.approx(b[key], abs=1e-6)


def test_warm_split_trains_no_bridge():
    split = cdgraph.split.leave_one_out(planted(num_users=120, seed=2), "tgt")
    model = ColdBridge("tgt", bridge_options=BRIDGE, **GRAPH).fit(split, **FIT)
    assert model.bridge_ is None and model.beta_ == 0.0
    torch.testing.assert_close(model.users_, model.graph_._final()[0])


def test_refuses_non_dot_scorer_and_bad_betas(split):
    with pytest.raises(ValueError, match="scorer must be 'dot'"):
        ColdBridge("tgt", scorer="mlp", **GRAPH).fit(split, **FIT)
    with pytest.raises(ValueError, match=r"betas must be weights in \[0, 1\]"):
        ColdBridge("tgt", betas=[0.5, 1.5])


def test_registered_as_the_cdgraph_method():
    assert isinstance(make_method("cdgraph", "tgt"), ColdBridge)


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
    state["state_dict"]["users"][0, 0] += 1.0
    torch.save(state, path)
    with pytest.raises(ValueError, match="is corrupt"):
        cdgraph.load_model(path)
