"""Mini-batch training with neighbour sampling, and the full-batch memory check."""
from __future__ import annotations

import pytest
import torch

import cdgraph
from cdgraph.train.memory import _bytes, check_full_batch, estimate_full_batch
from cdgraph.graph.context import GraphContext
from cdgraph.models.network import Network
from cdgraph.graph.sampling import NeighborSampler

from ..planted import planted

FIT = dict(epochs=12, lr=0.02, batch_size=256, patience=None, progress=False, source_weight=1.0)


@pytest.fixture(scope="module")
def split():
    return cdgraph.data.split.leave_one_out(planted(num_users=150, per_user=8, seed=3), "tgt", seed=0)


@pytest.fixture(scope="module")
def network(split):
    torch.manual_seed(0)
    ctx = GraphContext.from_split(split)
    net = Network(ctx, "lightgcn", "target", "dot", None, 16, 3, {})
    return ctx, net


def _batch():
    return {"tgt": (torch.tensor([0, 5, 7, 7]), torch.tensor([1, 2, 3, 30]), torch.tensor([4, 4, 9, 11])),
            "src": (torch.tensor([3, 5]), torch.tensor([0, 8]), torch.tensor([2, 2]))}


def _gathered(encoded, sample, batch):
    out = {}
    for d, (u, p, n) in batch.items():
        lu, lp, ln = sample.batch[d] if sample is not None else (u, p, n)
        out[d] = (encoded.users[d][lu], encoded.items[d][lp], encoded.items[d][ln])
    return out


def test_large_fanouts_reproduce_full_propagation(network):
    ctx, net = network
    batch = _batch()
    sampler = NeighborSampler(ctx.edges, ctx.num_users, ctx.num_items, [10_000] * 3)
    sample = sampler.sample(batch)
    assert sample.nodes[:sample.num_seeds].unique().numel() == sample.num_seeds
    full = _gathered(net.encoder(ctx), None, batch)
    part = _gathered(net.encoder.forward_sampled(ctx, sample), sample, batch)
    for d in batch:
        for a, b in zip(full[d], part[d]):
            torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_small_fanouts_are_unbiased(network):
    ctx, net = network
    batch = _batch()
    sampler = NeighborSampler(ctx.edges, ctx.num_users, ctx.num_items, [2, 2, 2])
    gen = torch.Generator().manual_seed(0)
    full = net.encoder(ctx).users["tgt"][batch["tgt"][0]].detach()
    with torch.no_grad():
        draws = [net.encoder.forward_sampled(ctx, s).users["tgt"][s.batch["tgt"][0]]
                 for s in (sampler.sample(batch, gen) for _ in range(600))]
    one = (draws[0] - full).abs().mean()
    mean = (torch.stack(draws).mean(0) - full).abs().mean()
    assert one > 0.1 * full.abs().mean()  # a single draw is noisy ...
    assert mean < 0.15 * one  # ... the mean of many converges to the full product


def test_minibatch_fit_learns_like_full_batch(split):
    full = cdgraph.GraphRecommender("tgt", dim=16, layers=2).fit(split, seed=0, **FIT)
    mini = cdgraph.GraphRecommender("tgt", dim=16, layers=2).fit(split, seed=0, neighbors=[4, 3], **FIT)
    untrained = cdgraph.GraphRecommender("tgt", dim=16, layers=2).fit(
        split, seed=0, **dict(FIT, epochs=1, lr=1e-6))
    m = {name: model.evaluate(split, protocol="sampled", num_negatives=20, k=(5,))["NDCG@5"]
         for name, model in (("full", full), ("mini", mini), ("untrained", untrained))}
    assert m["mini"] > m["untrained"] + 0.15, m
    assert m["mini"] > m["full"] - 0.08, m
    assert mini.train_config_.neighbors == (4, 3)


def test_minibatch_resume_matches_uninterrupted_run(split, tmp_path):
    opts = dict(FIT, epochs=4, neighbors=[3, 3])
    whole = cdgraph.GraphRecommender("tgt", dim=8, layers=2).fit(split, seed=1, **opts)
    ckpt = tmp_path / "ckpt.pt"
    cdgraph.GraphRecommender("tgt", dim=8, layers=2).fit(split, seed=1, checkpoint=ckpt,
                                                               **dict(opts, epochs=2))
    resumed = cdgraph.GraphRecommender("tgt", dim=8, layers=2).fit(split, seed=1, checkpoint=ckpt,
                                                                         resume=True, **opts)
    assert resumed.evaluate(split) == whole.evaluate(split)
    with pytest.raises(ValueError, match="neighbors"):
        cdgraph.GraphRecommender("tgt", dim=8, layers=2).fit(
            split, seed=1, checkpoint=ckpt, resume=True, **dict(opts, neighbors=[5, 5]))


@pytest.mark.parametrize("model, neighbors, message", [
    (dict(layers=2), [5], "one per layer"),
    (dict(layers=2), [5, 0], "positive integer, got 0"),
    (dict(layers=2, encoder="bitgcf"), [5, 5], "no mini-batch mode"),
    (dict(layers=2, encoder_options={"views": "split"}, fusion="attention"), [5, 5], "views='joint'"),
    (dict(layers=2, alignment="contrastive"), [5, 5], "Alignment losses need full-batch"),
])
def test_unsupported_minibatch_configurations_are_named(split, model, neighbors, message):
    with pytest.raises(ValueError, match=message):
        cdgraph.GraphRecommender("tgt", dim=8, **model).fit(split, neighbors=neighbors,
                                                                  **dict(FIT, epochs=1))


def test_memory_check_points_to_minibatch_mode(split, network, monkeypatch):
    ctx, net = network
    parts = estimate_full_batch(ctx, net, 256)
    assert parts["total"] == sum(v for k, v in parts.items() if k != "total")
    params = sum(p.numel() for p in net.parameters())
    assert parts["parameters"] == 16 * params
    with pytest.raises(MemoryError, match=r"neighbors=\[10, 10, 10\]"):
        check_full_batch(ctx, net, 256, 2, available=parts["total"] - 1)
    assert check_full_batch(ctx, net, 256, 2, available=parts["total"]) == parts
    monkeypatch.setenv("CDGRAPH_MEMORY_LIMIT", "1K")
    with pytest.raises(MemoryError, match="GiB is free"):
        cdgraph.GraphRecommender("tgt", dim=8, layers=2).fit(split, **dict(FIT, epochs=1))
    # the same limit does not stop mini-batch mode, nor a run that opts out of the check
    cdgraph.GraphRecommender("tgt", dim=8, layers=2).fit(split, neighbors=[3, 3], **dict(FIT, epochs=1))
    cdgraph.GraphRecommender("tgt", dim=8, layers=2).fit(split, check_memory=False, **dict(FIT, epochs=1))


def test_memory_limit_parsing():
    assert _bytes("512M") == 512 << 20
    assert _bytes("8GiB") == 8 << 30
    assert _bytes("1000") == 1000
    with pytest.raises(ValueError, match="not a size"):
        _bytes("lots")
