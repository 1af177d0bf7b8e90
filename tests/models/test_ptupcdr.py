"""PTUPCDR trains on a planted cold-start task and helps cold users over target-only learning."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

import cdgraph
from cdgraph.models import make_model
from cdgraph.models.ptupcdr import PTUPCDR

from ..planted import planted_cold_start

FIT = dict(epochs=15, lr=0.02, batch_size=256, patience=None, progress=False)
META = dict(meta_epochs=30, meta_lr=0.01, meta_batch_size=64, meta_l2=0.0)


@pytest.fixture(scope="module")
def split():
    return planted_cold_start()


@pytest.fixture(scope="module")
def fitted(split):
    return PTUPCDR("tgt", dim=16, layers=0, **META).fit(split, **FIT)


def test_ptupcdr_bridges_cold_users_better_than_target_only(split, fitted):
    single = make_model("bprmf", "tgt", dim=16).fit(split, **FIT)
    a = fitted.evaluate(split, protocol="sampled", num_negatives=20, k=(5,))
    b = single.evaluate(split, protocol="sampled", num_negatives=20, k=(5,))
    assert a["cold/NDCG@5"] > b["cold/NDCG@5"] + 0.1, (a, b)
    # the task-oriented meta training fits the shared users' target interactions
    loss = fitted.meta_history_["loss"]
    assert len(loss) == META["meta_epochs"]
    assert loss.iloc[-1] < 0.7 * loss.iloc[0], loss
    # warm users keep their own target factors; cold users get bridged ones
    cold = torch.from_numpy(split.cold_users)
    assert torch.isfinite(fitted.users_[cold]).all()
    assert fitted.users_[cold].norm(dim=1).min() > 0


def test_ptupcdr_meta_training_selects_on_validation(split):
    model = PTUPCDR("tgt", dim=16, layers=1, **dict(META, meta_epochs=8)).fit(
        split, **dict(FIT, epochs=5, patience=3, valid_protocol="sampled", valid_negatives=20,
                      valid_metric="MRR"))
    scores = model.meta_history_["valid/MRR"]
    assert model.meta_epoch_ == int(scores.idxmax())
    assert len(scores) <= 8


def test_ptupcdr_attention_is_a_distribution_over_the_source_history(split, fitted):
    users = torch.arange(split.data.num_users)
    items, weights = fitted.attention(users)
    mask = items >= 0
    assert (weights >= 0).all() and (weights[~mask] == 0).all()
    has = mask.any(1)
    assert has.all()  # every planted user has a source history
    assert torch.allclose(weights[has].sum(1), torch.ones(int(has.sum())), atol=1e-5)
    # the history holds the user's own source items
    src = split.train["src"]
    row = src[src["user"] == 3]["item"].to_numpy()
    assert set(items[3][mask[3]].tolist()) <= set(row.tolist())


def test_ptupcdr_history_cap_keeps_the_latest_items():
    frames = {"src": pd.DataFrame({"user": [0] * 5 + [1, 1], "item": [0, 1, 2, 3, 4, 0, 1],
                                   "time": [5, 1, 4, 2, 3, 1, 2]}),
              "tgt": pd.DataFrame({"user": [0, 0, 1, 1, 2, 2], "item": [0, 1, 1, 2, 0, 2],
                                   "time": [1, 2, 1, 2, 1, 2]})}
    data = cdgraph.CrossDomainData.from_frames(frames, time="time")
    split = cdgraph.data.split.leave_one_out(data, "tgt", valid=False)
    model = PTUPCDR("tgt", dim=4, history=2, meta_epochs=1).fit(split, **dict(FIT, epochs=1))
    items, weights = model.attention(torch.arange(data.num_users))
    raw = lambda u: {data.item_ids["src"][i] for i in items[u][items[u] >= 0].tolist()}  # noqa: E731
    u0, u1, u2 = (int(data.user_index([u])[0]) for u in (0, 1, 2))
    assert items.size(1) == 2 and raw(u0) == {0, 2} and raw(u1) == {0, 1} and raw(u2) == set()
    assert weights[u2].sum() == 0 and torch.allclose(weights[u0].sum(), torch.tensor(1.0))


def test_ptupcdr_recommends_unseen_items_and_checks_its_arguments(split):
    model = PTUPCDR("tgt", dim=8, meta_epochs=2).fit(split, **dict(FIT, epochs=2))
    recs = model.recommend(list(split.data.user_ids[:5]), k=3)
    assert len(recs) == 15
    seen = set(zip(*[split.raw("train")[c] for c in ("user", "item")]))
    assert not any((u, i) in seen for u, i in zip(recs["user"], recs["item"]))
    cold = list(split.data.user_ids[split.cold_users[:5]])
    recs = model.recommend(cold, k=3)
    assert len(recs) == 15 and np.isfinite(recs["score"]).all()
    with pytest.raises(ValueError, match="Unknown domain"):
        PTUPCDR("tgt", source="nope").fit(split, **FIT)
    with pytest.raises(ValueError, match="must differ from the target"):
        PTUPCDR("tgt", source="tgt").fit(split, **FIT)
    with pytest.raises(ValueError, match="recommends 'src'"):
        PTUPCDR("src").fit(split, **FIT)
    with pytest.raises(ValueError, match="meta_epochs"):
        PTUPCDR("tgt", meta_epochs=0)
    with pytest.raises(ValueError, match="history"):
        PTUPCDR("tgt", history=0)
    with pytest.raises(RuntimeError, match="not fitted"):
        PTUPCDR("tgt").attention(torch.arange(3))
