"""One battery that every registered model passes (implicit/Cornac-style conformance).

It runs on every name in :data:`cdgraph.models.MODELS`, so adding a model means passing it:
it trains on the planted task and beats an untrained copy and popularity, never recommends a
seen item, handles cold and unknown users, scores the same after save and load, gives the
same metrics for the same seed, and resumes an interrupted fit to the uninterrupted metrics.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

import cdgraph
from cdgraph.models import MODELS, make_model

from ..planted import planted, planted_cold_start

torch.set_num_threads(1)
FIT = dict(epochs=8, lr=0.02, batch_size=256, patience=None, progress=False, source_weights=(0.5, 2.0))
#: Test-sized options per model (a model not listed here is tested with its defaults).
SMALL = {
    "cdgraph": dict(dim=16, layers=2, bridge_options={"layers": 1, "meta_epochs": 4}),
    "graph": dict(dim=16, layers=2), "bprmf": dict(dim=16), "lightgcn-target": dict(dim=16, layers=2),
    "lightgcn-joint": dict(dim=16, layers=2), "bitgcf": dict(dim=16, layers=2),
    "graph-contrastive": dict(dim=16, layers=2, alignment_options={"weight": 0.01}), "ppgn": dict(dim=16, layers=2),
    "gadtcdr": dict(dim=16, layers=2), "emcdr": dict(dim=16, map_epochs=60),
    "emcdr-lightgcn": dict(dim=16, layers=2, map_epochs=60), "ptupcdr": dict(dim=16, meta_epochs=4),
    "ptupcdr-lightgcn": dict(dim=16, layers=2, meta_epochs=4),
    # the planted data has no item features: content-knn falls back to co-occurrence vectors
    "content-knn": dict(dim=8),
}
NAMES = MODELS.names()


def build(name: str) -> cdgraph.Recommender:
    return make_model(name, "tgt", **SMALL.get(name, {}))


@pytest.fixture(scope="module")
def warm():
    return cdgraph.data.leave_one_out(planted(num_users=120, num_items=40), "tgt", seed=0)


@pytest.fixture(scope="module")
def cold():
    return planted_cold_start(num_users=160)


@pytest.fixture(scope="module")
def fitted(warm):
    return {}


def fit(name: str, split, cache: dict, **options) -> cdgraph.Recommender:
    key = (name, id(split), tuple(sorted(options.items())))
    if key not in cache:
        cache[key] = build(name).fit(split, **{**FIT, **options})
    return cache[key]


def sampled(model, split, **options) -> dict[str, float]:
    return model.evaluate(split, protocol="sampled", num_negatives=20, k=(5, 10), **options)


def test_every_model_is_tested_at_test_size():
    """A new model gets an entry in SMALL (or this test says which one lacks it)."""
    assert sorted(set(NAMES) - set(SMALL)) in ([], ["pop"])


@pytest.mark.parametrize("name", NAMES)
def test_trains_and_beats_an_untrained_copy_and_popularity(name, warm, fitted):
    model = fit(name, warm, fitted)
    metrics = sampled(model, warm)
    assert all(np.isfinite(v) for v in metrics.values())
    if name == "pop":
        return  # the yardstick itself
    untrained = sampled(fit(name, warm, fitted, epochs=0), warm)
    pop = sampled(fit("pop", warm, fitted), warm)
    assert metrics["NDCG@10"] > untrained["NDCG@10"] + 0.05, (metrics, untrained)
    assert metrics["NDCG@10"] > pop["NDCG@10"], (metrics, pop)


@pytest.mark.parametrize("name", NAMES)
def test_recommend_never_returns_a_seen_item(name, warm, fitted):
    model = fit(name, warm, fitted)
    users = list(warm.data.user_ids[:30])
    recs = model.recommend(users, k=15)
    seen = warm.raw("train")
    assert not set(zip(recs["user"], recs["item"])) & set(zip(seen["user"], seen["item"]))
    assert (recs.groupby("user").size() == 15).all()
    everything = model.recommend(users[0], k=10_000, exclude_seen=False)
    assert len(everything) == warm.data.num_items("tgt")


@pytest.mark.parametrize("name", NAMES)
def test_cold_and_unknown_users(name, cold, fitted):
    """Users with no target history get finite scores and recommendations; unknown raw ids are a
    ValueError naming them, or skipped with unknown="skip"."""
    model = fit(name, cold, fitted)
    users = torch.from_numpy(cold.cold_users[:10])
    scores = model.score_users(users)
    assert scores.shape == (10, cold.data.num_items("tgt")) and torch.isfinite(scores).all()
    raw_cold = list(cold.data.user_ids[cold.cold_users[:3]])
    assert len(model.recommend(raw_cold, k=5)) == 15
    with pytest.raises(ValueError, match="Unknown user"):
        model.recommend([10 ** 9])
    assert model.recommend([10 ** 9, raw_cold[0]], unknown="skip")["user"].tolist() == [raw_cold[0]] * 10
    metrics = sampled(model, cold)
    assert "cold/NDCG@10" in metrics and np.isfinite(metrics["cold/NDCG@10"])


@pytest.mark.parametrize("name", NAMES)
def test_save_and_load_give_identical_scores(name, cold, fitted, tmp_path):
    model = fit(name, cold, fitted)
    model.save(tmp_path / "model.pt")
    loaded = cdgraph.load_model(tmp_path / "model.pt")
    users = torch.arange(cold.data.num_users)
    assert torch.equal(model.score_users(users), loaded.score_users(users))
    raw = list(cold.data.user_ids[:8])
    pd.testing.assert_frame_equal(model.recommend(raw), loaded.recommend(raw))
    assert sampled(model, cold) == sampled(loaded, cold)


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_metrics(name, cold, fitted):
    first = sampled(fit(name, cold, fitted, seed=3), cold)
    again = sampled(build(name).fit(cold, **{**FIT, "seed": 3}), cold)
    assert first == again


class Interrupt(Exception):
    """Raised by the test's callback to stop a fit as a kill would."""


@pytest.mark.parametrize("stop_after", [5, 13])
@pytest.mark.parametrize("name", NAMES)
def test_resume_after_an_interruption_ends_like_an_uninterrupted_fit(name, stop_after, cold, fitted, tmp_path):
    """Stopped after the 5th or the 13th epoch of all its loops (for the multi-phase models, in
    their first or a later phase), then resumed from the checkpoint."""
    whole = fit(name, cold, fitted)
    path = tmp_path / "fit.ckpt"
    epochs_seen = []

    def stop_midway(phase: str, state: dict) -> None:
        epochs_seen.append(phase)
        if len(epochs_seen) == stop_after:
            raise Interrupt(phase)

    interrupted = build(name)
    try:
        interrupted.fit(cold, **FIT, checkpoint=path, callbacks=[stop_midway])
    except Interrupt:
        pass
    resumed = build(name).fit(cold, **FIT, checkpoint=path, resume=True)
    assert sampled(resumed, cold) == sampled(whole, cold)
