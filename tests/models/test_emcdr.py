"""EMCDR trains on a planted cold-start task and helps cold users over target-only learning."""
from __future__ import annotations

import pytest

from cdgraph.models import make_model
from cdgraph.models import EMCDR

from ..planted import planted_cold_start

FIT = dict(epochs=15, lr=0.02, batch_size=256, patience=None, progress=False)


@pytest.fixture(scope="module")
def split():
    return planted_cold_start()


def test_emcdr_maps_cold_users_better_than_target_only(split):
    emcdr = EMCDR("tgt", dim=16, layers=0, map_epochs=200).fit(split, **FIT)
    single = make_model("bprmf", "tgt", dim=16).fit(split, **FIT)
    a = emcdr.evaluate(split, protocol="sampled", num_negatives=20, k=(5,))
    b = single.evaluate(split, protocol="sampled", num_negatives=20, k=(5,))
    assert a["cold/NDCG@5"] > b["cold/NDCG@5"] + 0.1, (a, b)
    assert emcdr.mapping_loss_ < 0.8 * emcdr.mapping_baseline_


def test_emcdr_recommends_unseen_items_and_checks_its_source(split):
    model = EMCDR("tgt", dim=8, map_epochs=10).fit(split, **dict(FIT, epochs=2))
    recs = model.recommend(list(split.data.user_ids[:5]), k=3)
    seen = set(zip(*[split.raw("train")[c] for c in ("user", "item")]))
    assert not any((u, i) in seen for u, i in zip(recs["user"], recs["item"]))
    with pytest.raises(ValueError, match="Unknown domain"):
        EMCDR("tgt", source="nope").fit(split, **FIT)
