"""Protocol-level evaluation: the metric names each protocol reports, and sampled
negatives that a small catalogue cannot supply."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from cdgraph.data import split as splits
from cdgraph.datasets import synthetic
from cdgraph.evaluation.protocols import (PROTOCOLS, check_metric, draw_negatives, evaluate_scores, metric_names, negatives_available)


@pytest.fixture(scope="module")
def small():
    data = synthetic(num_users=80, items_per_domain=30, interactions_per_domain=900, seed=5)
    return splits.leave_one_out(data, data.domains[-1], seed=0)


def _random_scorers(split):
    n = split.data.num_items(split.target)
    table = torch.randn(split.data.num_users, n, generator=torch.Generator().manual_seed(0))
    return (lambda users: table[users]), (lambda users, items: table[users[:, None], items])


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_metric_names_are_what_each_protocol_reports(small, protocol):
    by_users, by_pairs = _random_scorers(small)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 999 negatives from 30 items: see the test below
        got = evaluate_scores(by_users, by_pairs, small, protocol=protocol, k=(3, 7))
    assert sorted(got) == sorted(metric_names(protocol, (3, 7)))
    check_metric(next(iter(got)), protocol, (3, 7))
    with pytest.raises(ValueError, match="not reported by"):
        check_metric("NDGC@10", protocol)


def test_model_selection_metric_may_take_any_cut_off():
    check_metric("NDCG@50", "sampled")  # validation adds the metric's own K
    with pytest.raises(ValueError, match=r"at k=\[5, 10\]"):
        check_metric("NDCG@50", "sampled", (5, 10))
    with pytest.raises(ValueError, match="'full' protocol"):
        check_metric("MRR", "full")  # full ranking reports MRR@K


def test_negatives_available_counts_what_the_sampler_can_draw(small):
    drawn = draw_negatives(small, "test", num_negatives=small.data.num_items(small.target))
    np.testing.assert_array_equal(negatives_available(small, "test"), (drawn >= 0).sum(1))


def test_sampled_protocol_warns_when_the_catalogue_is_too_small(small):
    by_users, by_pairs = _random_scorers(small)
    fewest = int(negatives_available(small, "test").min())
    with pytest.warns(UserWarning, match=f"fewer than 999 sampled negatives \\(as few as {fewest}\\)"):
        evaluate_scores(by_users, by_pairs, small, protocol="sampled", num_negatives=999)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        evaluate_scores(by_users, by_pairs, small, protocol="sampled", num_negatives=fewest)


def test_a_split_of_other_data_with_the_same_sizes_is_refused(small):
    from cdgraph import CrossDomainData
    from cdgraph.models import make_model

    frames = {d: small.data.interactions(d, raw=True) for d in small.data.domains}
    fitted_on = splits.leave_one_out(CrossDomainData.from_frames(frames), small.target, seed=0)
    model = make_model("pop", small.target).fit(fitted_on)
    reread = splits.leave_one_out(CrossDomainData.from_frames(frames), small.target, seed=0)
    assert model.evaluate(reread) == model.evaluate(fitted_on)  # the same data read again
    renamed = CrossDomainData.from_frames({d: f.assign(user=[f"x{u}" for u in f["user"]])
                                           for d, f in frames.items()})
    other = splits.leave_one_out(renamed, small.target, seed=0)
    assert other.data.num_users == fitted_on.data.num_users  # the sizes alone cannot tell
    with pytest.raises(ValueError, match="user or '.*' item ids differ"):
        model.evaluate(other)


def test_cold_and_warm_copies_count_on_a_split_with_cold_users():
    check_metric("cold/NDCG@10", "sampled", groups=True)
    check_metric("warm/Recall@20", "full", (10, 20), groups=True)
    with pytest.raises(ValueError, match="this one has none"):
        check_metric("cold/NDCG@10", "sampled")
    with pytest.raises(ValueError, match="'cold/NDGC@10' is not reported"):
        check_metric("cold/NDGC@10", "sampled", groups=True)


def test_new_item_negatives_rank_new_items_among_new_items():
    import cdgraph
    from cdgraph.evaluation import new_item_negatives

    data = synthetic(num_users=150, items_per_domain=80, interactions_per_domain=1500, seed=3)
    target = data.domains[-1]
    split = cdgraph.data.cold_items(data, target, fraction=0.4, seed=0)
    for on in ("valid", "test"):
        held = split.part(on)
        negatives = new_item_negatives(split, on=on, num_negatives=10, seed=1)
        assert negatives.shape == (len(held), 10)
        pool = set(split.info[f"{on}_items"].tolist())
        own = held.groupby("user")["item"].apply(set)
        for (user, item), row in zip(held[["user", "item"]].itertuples(index=False), negatives):
            drawn = set(row[row >= 0].tolist())
            assert drawn <= pool and item not in drawn and not drawn & own[user]
        np.testing.assert_array_equal(negatives, new_item_negatives(split, on=on, num_negatives=10, seed=1))
    with pytest.raises(ValueError, match="made by cdgraph.data.cold_items"):
        new_item_negatives(splits.leave_one_out(data, target, seed=0))
