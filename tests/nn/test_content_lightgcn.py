"""The content-aware LightGCN encoder: its formula, new items, views, mini-batches, alignments."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import cdgraph
from cdgraph.graph.context import GraphContext
from cdgraph.graph.sampling import NeighborSampler
from cdgraph.models.network import Network

from ..graph.content_data import featured

FIT = dict(epochs=4, lr=0.02, batch_size=256, patience=None, progress=False, source_weight=1.0)


def _tiny_context() -> GraphContext:
    """3 users; domain a: 3 items (a2 without users), domain b: 2 items (b1 without any edge)."""
    edges = {"a": (np.array([0, 0, 1, 2]), np.array([0, 1, 1, 0])), "b": (np.array([1, 2]), np.array([0, 0]))}
    rng = np.random.default_rng(0)
    content = {"a": rng.standard_normal((3, 4)).astype(np.float32), "b": rng.standard_normal((2, 4)).astype(np.float32)}
    return GraphContext(domains=["a", "b"], target="a", num_users=3, num_items={"a": 3, "b": 2}, edges=edges,
                        content={d: torch.from_numpy(x) for d, x in content.items()},
                        item_edges={("a", "b"): (np.array([2, 1]), np.array([0, 0]))})


def test_content_lightgcn_matches_a_dense_recomputation():
    ctx = _tiny_context()
    torch.manual_seed(0)
    enc = cdgraph.nn.LightGCNEncoder(dim=5, layers=2, content=True)
    enc.setup(ctx)
    with torch.no_grad():
        out = enc(ctx)
    # dense joint adjacency over [users | items of a | items of b], item-item edges included
    n = 3 + 3 + 2
    adj = torch.zeros(n, n)
    for u, i in zip(*ctx.edges["a"]):
        adj[u, 3 + i] = adj[3 + i, u] = 1
    for u, i in zip(*ctx.edges["b"]):
        adj[u, 6 + i] = adj[6 + i, u] = 1
    for i, j in zip(*ctx.item_edges[("a", "b")]):
        adj[3 + i, 6 + j] = adj[6 + j, 3 + i] = 1
    deg = adj.sum(1)
    norm = adj / (deg.clamp(min=1).sqrt()[:, None] * deg.clamp(min=1).sqrt()[None, :])
    trained = torch.tensor([1.0, 1.0, 0.0, 1.0, 0.0])[:, None]  # a2 and b1 have no user edge
    items0 = torch.cat([enc.item["a"], enc.item["b"]]).detach() * trained \
        + torch.cat([ctx.content["a"], ctx.content["b"]]) @ enc.project.detach()
    e = [torch.cat([enc.user.detach(), items0])]
    for _ in range(2):
        e.append(norm @ e[-1])
    mean = sum(e) / 3
    mean[deg == 0] = e[0][deg == 0]  # b1 has no edge at all: it keeps its layer-0 embedding
    torch.testing.assert_close(out.users["a"], mean[:3])
    torch.testing.assert_close(out.items["a"], mean[3:6])
    torch.testing.assert_close(out.items["b"], mean[6:])
    torch.testing.assert_close(out.items["b"][1], items0[4])


@pytest.fixture(scope="module")
def cold():
    return cdgraph.data.cold_items(featured(num_users=150), "tgt", fraction=0.2, seed=0)


def test_a_cold_item_is_scored_from_its_content(cold):
    model = cdgraph.GraphRecommender("tgt", dim=16, layers=2, content="auto").fit(cold, **FIT)
    items = torch.from_numpy(cold.info["cold_items"])
    scores = model.score_users(torch.arange(cold.data.num_users))[:, items]
    assert torch.isfinite(scores).all() and scores.std(0).min() > 0 and scores.std(1).min() > 0
    encoder = model.network_.encoder
    with torch.no_grad():   # an untrained id embedding has no say in a cold item's score
        encoder.item["tgt"][items] += 10.0
    model.invalidate()
    torch.testing.assert_close(model.score_users(torch.arange(cold.data.num_users))[:, items], scores)
    trained, isolated = model.ctx_.item_masks("tgt")
    assert not trained[items].any() and isolated[items].all()
    final = model.final()[1]   # on the scale of trained items, not divided by L + 1
    ratio = final[items].norm(dim=1).mean() / final[trained].norm(dim=1).mean()
    assert 0.3 < float(ratio) < 3
    idonly = cdgraph.GraphRecommender("tgt", dim=16, layers=2).fit(cold, **FIT)
    ndcg = {name: m.evaluate(cold, protocol="sampled", num_negatives=20)["NDCG@10"]
            for name, m in (("content", model), ("id", idonly))}
    assert ndcg["content"] > ndcg["id"] + 0.1, ndcg


@pytest.mark.parametrize("options", [
    dict(encoder_options={"views": "split"}, fusion="attention", alignment=["contrastive"]),
    dict(encoder_options={"views": "split"}, fusion="concat", alignment=["adversarial"]),
    dict(encoder_options={"views": "dual"}, alignment=["graph-contrastive"]),
    dict(encoder_options={"views": "split", "specific": True}, fusion="weighted", alignment=["weight-sharing"]),
    dict(encoder_options={"graph": "target"}, source_weight=0.0),
], ids=["split-attention", "split-concat-adversarial", "dual", "specific", "target-graph"])
def test_views_fusion_heads_and_alignments_train_with_content(options, cold):
    model = cdgraph.GraphRecommender("tgt", dim=16, layers=2, content="auto", **options)
    model.fit(cold, **{**FIT, "source_weight": options.get("source_weight", 1.0)})
    assert model.network_.encoder.uses_content
    losses = model.history_.filter(like="loss")
    assert np.isfinite(losses.to_numpy()).all() and len(losses) == FIT["epochs"]
    assert np.isfinite(model.evaluate(cold, protocol="sampled", num_negatives=20)["NDCG@10"])


def test_mini_batch_training_with_content(cold):
    model = cdgraph.GraphRecommender("tgt", dim=16, layers=2, content="auto")
    model.fit(cold, **FIT, neighbors=(5, 5))
    items = torch.from_numpy(cold.info["cold_items"])
    scores = model.score_users(torch.arange(10))[:, items]
    assert torch.isfinite(scores).all() and scores.std() > 0
    # the sampled forward gives a cold item its layer-0 embedding, as the full forward does
    ctx, encoder = model.ctx_, model.network_.encoder
    sampler = NeighborSampler(ctx.edges, ctx.num_users, ctx.num_items, [10_000, 10_000])
    batch = {"tgt": (torch.tensor([0, 1]), items[:2], torch.tensor([0, 1]))}
    sample = sampler.sample(batch)
    with torch.no_grad():
        sampled, full = encoder.forward_sampled(ctx, sample), encoder(ctx)
    lu, lp, _ = sample.batch["tgt"]
    torch.testing.assert_close(sampled.items["tgt"][lp], full.items["tgt"][items[:2]])
    torch.testing.assert_close(sampled.users["tgt"][lu], full.users["tgt"][:2])
    bridged = cdgraph.GraphRecommender("tgt", dim=16, layers=2, content="auto", content_bridge={"k": 2})
    with pytest.raises(ValueError, match="full-batch"):
        bridged.fit(cold, **FIT, neighbors=(5, 5))


def test_an_encoder_without_content_refuses_it(cold):
    with pytest.raises(ValueError, match="does not use item content"):
        cdgraph.GraphRecommender("tgt", encoder="bitgcf", dim=8, layers=1, content="auto").fit(cold, **FIT)
    ctx = GraphContext.from_split(cold)
    with pytest.raises(ValueError, match="content=True"):
        Network(ctx, cdgraph.nn.LightGCNEncoder(8, 1, content=True), "target", "dot", None, 8, 1, {})
    off = cdgraph.GraphRecommender("tgt", dim=8, layers=1, content="auto", encoder_options={"content": False})
    with pytest.raises(ValueError, match="does not use item content"):
        off.fit(cold, **FIT)
