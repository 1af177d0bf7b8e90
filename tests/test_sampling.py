import numpy as np
import torch

from cdgraph.data.pairs import PairIndex


def positives(seed=0, n_users=300, n_items=200, n=3000):
    rng = np.random.default_rng(seed)
    return PairIndex(rng.integers(0, n_users, n), rng.integers(0, n_items, n), n_items)


def test_training_negatives_avoid_positives():
    pos = positives()
    users = torch.arange(300).repeat(20)
    neg = pos.sample_negatives(users, torch.Generator().manual_seed(1), num=3)
    assert neg.shape == (6000, 3)
    assert not pos.contains(users[:, None].expand(-1, 3), neg).any()
    assert neg.unique().numel() > 190  # spread over (nearly) all 200 items


def test_training_negatives_come_from_candidates():
    pos = positives()
    candidates = torch.arange(0, 200, 5)
    users = torch.arange(300).repeat(10)
    neg = pos.sample_negatives(users, torch.Generator().manual_seed(2), candidates=candidates)
    assert torch.isin(neg, candidates).all()
    assert not pos.contains(users[:, None], neg).any()
    assert set(neg.unique().tolist()) == set(candidates.tolist())
