from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import stats

from cdgraph.evaluation import (auc, classification, full_ranking, paired_test, sample_negatives, sampled_ranking, summarize)


def table_scorer(S: torch.Tensor):
    return lambda users: S[users]


def pair_scorer(S: torch.Tensor, record: list | None = None):
    def score(users, items):
        if record is not None:
            record.append(items.clone())
        return S[users[:, None], items]
    return score


# ---------------------------------------------------------------- full ranking
# 3 users x 6 items; users 0 and 2 are evaluated, user 1 has no held-out item.
S_FULL = torch.tensor([
    [0.9, 0.8, 0.7, 0.6, 0.5, 0.4],
    [0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
    [0.1, 0.6, 0.3, 0.9, 0.2, 0.5],
])
TRUTH = ([0, 0, 2], [1, 4, 2])
EXCLUDE = ([0, 2], [0, 3])  # each user's top-scored item is a train item
# user 0 after masking ranks items 1 2 3 4 5 | 0; truth {1, 4} at ranks 1 and 4.
# user 2 after masking ranks items 1 5 2 4 0 | 3; truth {2} at rank 3.
L3, L5 = 1 / math.log2(3), 1 / math.log2(5)
EXPECTED_FULL = {  # K: (user 0, user 2) for Recall, NDCG, HR, Precision, MRR
    1: dict(Recall=(0.5, 0), NDCG=(1, 0), HR=(1, 0), Precision=(1, 0), MRR=(1, 0)),
    3: dict(Recall=(0.5, 1), NDCG=(1 / (1 + L3), 0.5), HR=(1, 1), Precision=(1 / 3, 1 / 3),
            MRR=(1, 1 / 3)),
    5: dict(Recall=(1, 1), NDCG=((1 + L5) / (1 + L3), 0.5), HR=(1, 1), Precision=(2 / 5, 1 / 5),
            MRR=(1, 1 / 3)),
    # K > num_items: same hits as K=6, Precision still divides by K.
    10: dict(Recall=(1, 1), NDCG=((1 + L5) / (1 + L3), 0.5), HR=(1, 1),
             Precision=(2 / 10, 1 / 10), MRR=(1, 1 / 3)),
}


@pytest.mark.parametrize("chunk_size", [1, 2, 1000])
def test_full_ranking_hand_computed(chunk_size):
    df = full_ranking(table_scorer(S_FULL), 6, *TRUTH, *EXCLUDE, ks=(1, 3, 5, 10),
                      chunk_size=chunk_size)
    assert list(df.index) == [0, 2] and df.index.name == "user"
    assert list(df.columns[:4]) == ["Recall@1", "Recall@3", "Recall@5", "Recall@10"]
    for k, metrics in EXPECTED_FULL.items():
        for name, expected in metrics.items():
            np.testing.assert_allclose(df[f"{name}@{k}"], expected, atol=1e-6,
                                       err_msg=f"{name}@{k}")


def test_full_ranking_excluded_truth_never_hits():
    df = full_ranking(table_scorer(S_FULL), 6, [0], [0], [0], [0], ks=(1, 6))
    assert (df.to_numpy() == 0).all()
    # without exclusion item 0 is the top item
    df = full_ranking(table_scorer(S_FULL), 6, [0], [0], ks=(1,))
    assert df.loc[0].tolist() == [1.0, 1.0, 1.0, 1.0, 1.0]


def reference_full(S, truth, exclude, ks):
    """Plain per-user loop, for distinct scores."""
    rows = {}
    for u in sorted(truth):
        s = S[u].clone()
        s[list(exclude.get(u, ()))] = -float("inf")
        order = [i for i in torch.argsort(s, descending=True).tolist() if s[i] > -float("inf")]
        rel = [i in truth[u] for i in order]
        row = {}
        for k in ks:
            h = rel[:k]
            dcg = sum(r / math.log2(i + 2) for i, r in enumerate(h))
            idcg = sum(1 / math.log2(i + 2) for i in range(min(len(truth[u]), k)))
            first = next((i for i, r in enumerate(h) if r), None)
            row.update({f"Recall@{k}": sum(h) / len(truth[u]), f"NDCG@{k}": dcg / idcg,
                        f"HR@{k}": float(any(h)), f"Precision@{k}": sum(h) / k,
                        f"MRR@{k}": 0.0 if first is None else 1 / (first + 1)})
        rows[u] = row
    return pd.DataFrame.from_dict(rows, orient="index")


def test_full_ranking_matches_reference_any_chunk():
    g = torch.Generator().manual_seed(0)
    n_users, n_items = 40, 30
    S = torch.rand(n_users, n_items, generator=g)
    tu = torch.randint(n_users, (120,), generator=g)
    ti = torch.randint(n_items, (120,), generator=g)
    eu = torch.randint(n_users, (300,), generator=g)
    ei = torch.randint(n_items, (300,), generator=g)
    keep = ~torch.isin(eu * n_items + ei, tu * n_items + ti)  # train and held-out disjoint
    eu, ei = eu[keep], ei[keep]
    truth, exclude = {}, {}
    for u, i in zip(tu.tolist(), ti.tolist()):
        truth.setdefault(u, set()).add(i)
    for u, i in zip(eu.tolist(), ei.tolist()):
        exclude.setdefault(u, set()).add(i)
    ks = (1, 5, 10, 50)
    ref = reference_full(S, truth, exclude, ks)
    for chunk_size in (1, 7, 1000):
        df = full_ranking(table_scorer(S), n_items, tu, ti, eu, ei, ks=ks, chunk_size=chunk_size)
        pd.testing.assert_frame_equal(df[ref.columns], ref, check_names=False,
                                      check_index_type=False, atol=1e-6)


def test_full_ranking_errors():
    with pytest.raises(ValueError, match="shape"):
        full_ranking(lambda u: torch.zeros(len(u), 5), 6, *TRUTH)
    with pytest.raises(ValueError, match="NaN"):
        full_ranking(lambda u: torch.full((len(u), 6), float("nan")), 6, *TRUTH)
    with pytest.raises(ValueError, match="truth"):
        full_ranking(table_scorer(S_FULL), 6, [0], [6])


# ---------------------------------------------------------------- sampled ranking
S_PAIR = torch.tensor([
    [0.1, 0.9, 0.5, 0.2, 0.0],
    [0.8, 0.3, 0.1, 0.0, 0.0],
])


def test_sampled_fixed_negatives_with_padding():
    # row 0: positive 2 (0.5) vs items 0 (0.1), 1 (0.9), 3 (0.2) -> rank 1
    # row 1: positive 0 (0.8) vs items 1 (0.3), 2 (0.1)          -> rank 0
    # padding (-1) would tie with the positive if it were scored and counted.
    negs = np.array([[0, 1, 3, -1], [1, 2, -1, -1]])
    df = sampled_ranking(pair_scorer(S_PAIR), [0, 1], [2, 0], 5, negatives=negs, ks=(1, 5))
    assert list(df.columns) == ["MRR", "HR@1", "HR@5", "NDCG@1", "NDCG@5", "rank"]
    assert df["rank"].tolist() == [1, 0]
    np.testing.assert_allclose(df["MRR"], [0.5, 1.0])
    np.testing.assert_allclose(df["HR@1"], [0, 1])
    np.testing.assert_allclose(df["HR@5"], [1, 1])
    np.testing.assert_allclose(df["NDCG@1"], [0, 1])
    np.testing.assert_allclose(df["NDCG@5"], [1 / math.log2(3), 1])


def test_sampled_ties_are_pessimistic():
    const = lambda users, items: torch.ones(items.shape)  # noqa: E731
    df = sampled_ranking(const, torch.arange(4), torch.zeros(4, dtype=torch.long), 20,
                         num_negatives=9)
    assert (df["rank"] == 9).all() and np.allclose(df["MRR"], 0.1)
    assert (df["HR@5"] == 0).all()
    negs = [[1, 2, -1], [1, -1, -1]]  # padding never counts, even on ties
    df = sampled_ranking(const, [0, 1], [0, 0], 5, negatives=negs)
    assert df["rank"].tolist() == [2, 1]


def test_sampled_reproducible():
    g = torch.Generator().manual_seed(1)
    S = torch.rand(10, 200, generator=g)
    users, pos = torch.arange(10), torch.randint(200, (10,), generator=g)
    run = lambda seed: sampled_ranking(pair_scorer(S), users, pos, 200,  # noqa: E731
                                       num_negatives=50, seed=seed)
    pd.testing.assert_frame_equal(run(3), run(3))
    a, b = (sample_negatives(users, pos, 200, 50, seed=s) for s in (3, 4))
    assert torch.equal(a, sample_negatives(users, pos, 200, 50, seed=3))
    assert not torch.equal(a, b)


@pytest.mark.parametrize("num_negatives", [5, 30, 39])  # rejection, random keys, all valid
@pytest.mark.parametrize("use_candidates", [False, True])
def test_sampled_negatives_are_valid(num_negatives, use_candidates):
    g = torch.Generator().manual_seed(0)
    n_users, n_items = 20, 50
    eu = torch.arange(n_users).repeat_interleave(10)
    ei = torch.stack([torch.randperm(n_items, generator=g)[:10] for _ in range(n_users)]).flatten()
    pos = torch.randint(n_items, (n_users,), generator=g)
    for u in range(n_users):  # positive is not a train item
        while pos[u] in ei[eu == u]:
            pos[u] = (pos[u] + 1) % n_items
    candidates = None
    if use_candidates:  # extra non-candidate items 50..59; 60 items in total
        candidates, n_items = torch.arange(50), 60
    record: list = []
    S = torch.rand(n_users, n_items, generator=g)
    sampled_ranking(pair_scorer(S, record), torch.arange(n_users), pos, n_items,
                    num_negatives=num_negatives, exclude_users=eu, exclude_items=ei,
                    candidates=candidates, chunk_size=6)
    items = torch.cat(record)
    assert torch.equal(items[:, 0], pos)
    negs = items[:, 1:]
    assert negs.shape == (n_users, num_negatives) and (negs < 50).all() and (negs >= 0).all()
    for u in range(n_users):
        row = set(negs[u].tolist())
        assert len(row) == num_negatives, "negatives repeat within a row"
        assert int(pos[u]) not in row
        assert not row & set(ei[eu == u].tolist())


@pytest.mark.parametrize("num_negatives", [3, 20])  # rejection path, random-keys path
def test_sample_negatives_uniform(num_negatives):
    # user 0, positive 0, train items 1..4: valid items are 5..39 (35 items).
    n = 3000
    zeros = torch.zeros(n, dtype=torch.long)
    negs = sample_negatives(zeros, zeros, 40, num_negatives, [0] * 4, [1, 2, 3, 4], seed=0)
    counts = torch.bincount(negs.flatten(), minlength=40)
    assert counts[:5].sum() == 0
    assert stats.chisquare(counts[5:].numpy()).pvalue > 1e-3  # uniform over valid items


def test_sample_negatives_too_few_candidates():
    with pytest.raises(ValueError, match="fewer than 5 valid negative candidates"):
        sample_negatives([0, 1], [0, 0], 6, 5, [0, 0], [1, 2])
    negs = sample_negatives([0, 1], [0, 0], 6, 5, [0, 0], [1, 2], allow_fewer=True)
    assert sorted(negs[0].tolist()) == [-1, -1, 3, 4, 5]
    assert sorted(negs[1].tolist()) == [1, 2, 3, 4, 5]


# ---------------------------------------------------------------- classification
def test_classification_hand_computed():
    # positive scores 2.0 -1.0 0.5 0.0 ; negative scores -2.0 1.0 0.5 -0.5
    # sigmoid >= 0.5 <=> score >= 0: pos preds 1 0 1 1, neg preds 0 1 1 0
    # tp 3, fn 1, fp 2, tn 2. AUC: 4 + 1 + 2.5 + 2 = 9.5 of 16 pairs.
    S = torch.tensor([[2.0, -2.0], [-1.0, 1.0], [0.5, 0.5], [0.0, -0.5]])
    users = torch.arange(4)
    out = classification(pair_scorer(S), users, torch.zeros(4, dtype=torch.long), 2,
                         negatives=torch.ones(4, dtype=torch.long))
    assert out == pytest.approx(dict(accuracy=5 / 8, precision=3 / 5, recall=3 / 4,
                                     f1=2 / 3, auc=9.5 / 16))
    # raw probabilities, threshold 0.6: pos preds 1 0 0 0, neg preds 0 1 0 0
    out = classification(pair_scorer(S), users, torch.zeros(4, dtype=torch.long), 2,
                         negatives=torch.ones(4, dtype=torch.long), threshold=0.6,
                         apply_sigmoid=False)
    assert out == pytest.approx(dict(accuracy=4 / 8, precision=1 / 2, recall=1 / 4,
                                     f1=1 / 3, auc=9.5 / 16))


def test_classification_sampled_perfect_scorer():
    S = torch.full((5, 30), -3.0)
    pos = torch.arange(5)
    S[pos, pos] = 3.0
    out = classification(pair_scorer(S), pos, pos, 30, seed=1)
    assert out == pytest.approx(dict(accuracy=1, precision=1, recall=1, f1=1, auc=1))


def test_auc_matches_brute_force():
    g = torch.Generator().manual_seed(0)
    p = torch.randint(0, 10, (40,), generator=g).float()  # many ties
    n = torch.randint(0, 8, (30,), generator=g).float()
    brute = ((p[:, None] > n).float() + 0.5 * (p[:, None] == n).float()).mean()
    assert auc(p, n) == pytest.approx(float(brute))


# ---------------------------------------------------------------- summaries
def test_summarize_with_groups():
    df = pd.DataFrame({"MRR": [1.0, 0.5, 0.0, 0.5], "HR@1": [1.0, 0, 0, 0], "rank": [0, 1, 9, 1]})
    cold = np.array([True, False, False, True])
    out = summarize(df, {"cold": cold, "warm": torch.tensor(~cold), "none": np.zeros(4, bool)})
    assert "rank" not in out and "cold/rank" not in out
    assert out["MRR"] == 0.5 and out["HR@1"] == 0.25
    assert out["cold/MRR"] == 0.75 and out["warm/MRR"] == 0.25 and out["cold/HR@1"] == 0.5
    assert math.isnan(out["none/MRR"])
    with pytest.raises(ValueError, match="group 'bad'"):
        summarize(df, {"bad": [True]})


def test_paired_test():
    a = np.array([0.30, 0.32, 0.31, 0.35, 0.33])
    b = np.array([0.28, 0.31, 0.30, 0.31, 0.33])
    out = paired_test(a, b)
    ref = stats.ttest_rel(a, b)
    assert out["t"] == pytest.approx(ref.statistic) and out["p"] == pytest.approx(ref.pvalue)
    assert out["mean_diff"] == pytest.approx(0.016) and "wilcoxon_p" not in out
    assert paired_test(a, b, "greater")["p"] == pytest.approx(ref.pvalue / 2)
    out = paired_test(np.r_[a, 0.4], np.r_[b, 0.3], "greater")
    assert out["wilcoxon_p"] == pytest.approx(stats.wilcoxon(np.r_[a, 0.4], np.r_[b, 0.3],
                                                             alternative="greater").pvalue)
    assert math.isnan(paired_test(a, a)["p"])
