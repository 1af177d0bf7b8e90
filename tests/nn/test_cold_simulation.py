"""Cold-start simulation: hiding shared users' target edges from the propagation graph."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import cdgraph
from cdgraph.graph.context import GraphContext
from cdgraph.train.batches import hide_target_edges

from ..planted import planted_cold_start


@pytest.fixture(scope="module")
def split():
    return planted_cold_start(num_users=160, seed=2)


def test_hides_all_target_edges_of_a_fraction_of_shared_users_only(split):
    ctx = GraphContext.from_split(split)
    hidden = hide_target_edges(ctx, 0.5, torch.Generator().manual_seed(0))
    users, _ = ctx.edges["tgt"]
    kept_users = set(hidden.edges["tgt"][0].tolist())
    dropped = set(users.tolist()) - kept_users
    assert 0.3 < len(dropped) / len(set(users.tolist())) < 0.7
    assert hidden.edges["src"] is ctx.edges["src"]  # the source domain is untouched
    # a user keeps all of its target edges or none of them
    counts = np.bincount(users, minlength=ctx.num_users)
    kept = np.bincount(hidden.edges["tgt"][0], minlength=ctx.num_users)
    assert np.all((kept == counts) | (kept == 0))
    assert hidden.blocks()["tgt"].ui._nnz() == len(hidden.edges["tgt"][0])
    assert ctx.blocks()["tgt"].ui._nnz() == len(users)  # the original graph is unchanged


def test_training_with_cold_simulation_learns_and_is_checked(split):
    fit = dict(epochs=10, lr=0.02, batch_size=128, patience=None, progress=False, source_weight=1.0)
    model = cdgraph.GraphRecommender("tgt", dim=16, layers=2).fit(split, cold_simulation=0.5, **fit)
    untrained = cdgraph.GraphRecommender("tgt", dim=16, layers=2).fit(
        split, **dict(fit, epochs=1, lr=1e-6))
    a = model.evaluate(split, protocol="sampled", num_negatives=20, k=(5,))
    b = untrained.evaluate(split, protocol="sampled", num_negatives=20, k=(5,))
    assert a["cold/NDCG@5"] > b["cold/NDCG@5"] + 0.1, (a, b)
    assert model.train_config_.cold_simulation == 0.5
    with pytest.raises(ValueError, match="cold_simulation needs full-batch"):
        cdgraph.GraphRecommender("tgt", dim=8, layers=2).fit(
            split, cold_simulation=0.5, neighbors=[3, 3], **dict(fit, epochs=1))
