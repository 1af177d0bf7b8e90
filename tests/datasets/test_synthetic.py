from __future__ import annotations

import numpy as np
import pytest

from cdgraph.datasets import synthetic
from cdgraph.data.split import leave_one_out


@pytest.mark.parametrize("domains,items,inter,shared", [
    (("a", "b"), 300, 6000, 0.5),
    (("x", "y", "z"), [200, 400, 300], [5000, 7000, 6000], 1.0),
])
def test_shape(domains, items, inter, shared):
    data = synthetic(num_users=900, items_per_domain=items, interactions_per_domain=inter,
                     domains=domains, shared_fraction=shared, seed=3)
    items = [items] * len(domains) if np.ndim(items) == 0 else items
    inter = [inter] * len(domains) if np.ndim(inter) == 0 else inter
    assert data.domains == list(domains) and data.num_users == 900
    n_shared = round(shared * 900)
    for d, n_items, n_inter in zip(domains, items, inter):
        frame = data.interactions(d)
        assert data.num_items(d) == n_items and len(frame) == n_inter
        assert not frame.duplicated(["user", "item"]).any()
        assert frame.groupby("user").size().min() >= 3
        assert frame["user"].dtype == np.int64 and frame["item"].max() < n_items
    assert len(data.shared_users(*domains[:2])) == n_shared


def test_seeded():
    a, b, c = (synthetic(num_users=500, seed=s) for s in (1, 1, 2))
    for d in a.domains:
        assert a.interactions(d).equals(b.interactions(d))
        assert not a.interactions(d).equals(c.interactions(d))


def test_rejects_impossible_requests():
    with pytest.raises(ValueError, match="not feasible"):
        synthetic(num_users=100, items_per_domain=10, interactions_per_domain=10_000)
    with pytest.raises(ValueError, match="shared_fraction"):
        synthetic(shared_fraction=0.0)


def _hit_rate(scores: np.ndarray, seen: np.ndarray, held: np.ndarray, k: int = 10) -> float:
    scores = np.where(seen, -np.inf, scores)
    top = np.argsort(-scores, axis=1)[:, :k]
    return float((top == held[:, None]).any(axis=1).mean())


def test_source_interactions_predict_target_ones():
    """With a sparse target, item-to-item scores over source + target beat target-only ones."""
    data = synthetic(num_users=3000, items_per_domain=500, interactions_per_domain=[60_000, 12_000],
                     shared_fraction=1.0, seed=0)
    split = leave_one_out(data, "b", valid=False)
    dense = lambda f: np.bincount(f["user"] * 500 + f["item"], minlength=3000 * 500  # noqa: E731
                                  ).reshape(3000, 500).astype(float)
    a, b = dense(split.train["a"]), dense(split.train["b"])
    users, held = split.test["user"].to_numpy(), split.test["item"].to_numpy()
    seen = b[users] > 0

    def item_cf(profile: np.ndarray) -> float:
        return _hit_rate(profile[users] @ (profile.T @ b / np.maximum(b.sum(0), 1) ** 0.5), seen, held)

    cross, target_only = item_cf(np.hstack([a, b])), item_cf(b)
    popular = _hit_rate(np.tile(b.sum(0), (len(users), 1)), seen, held)
    assert cross > 1.3 * target_only and cross > 1.3 * popular
