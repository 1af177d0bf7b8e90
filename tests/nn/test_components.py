"""Every encoder x fusion x scorer trains on a tiny planted graph; gradients reach both domains."""
from __future__ import annotations

import itertools

import pytest
import torch

import cdgraph
from cdgraph.graph.context import GraphContext
from cdgraph.models.network import Network
from cdgraph.nn import ENCODERS, FUSIONS, SCORERS
from cdgraph.train.batches import Batches

from ..planted import planted

COMBOS = list(itertools.product(["lightgcn", "bitgcf", "sage", "gat"],
                                ["target", "weighted", "concat", "attention"], ["dot", "mlp"]))


@pytest.fixture(scope="module")
def split():
    return cdgraph.data.split.leave_one_out(planted(), "tgt", seed=0)


def test_registries_list_builtins():
    assert {"lightgcn", "bitgcf", "sage", "gat"} <= set(ENCODERS.names())
    assert {"target", "weighted", "concat", "attention"} <= set(FUSIONS.names())
    assert {"dot", "mlp"} <= set(SCORERS.names())


@pytest.mark.parametrize("encoder,fusion,scorer", COMBOS)
def test_combination_loss_falls(split, encoder, fusion, scorer):
    torch.manual_seed(0)
    ctx = GraphContext.from_split(split)
    net = Network(ctx, encoder, fusion, scorer, None, 16, 2, {})
    opt = torch.optim.Adam(net.parameters(), lr=0.01)
    batches = Batches(ctx, 256, 1.0).epoch(torch.Generator().manual_seed(0))
    fixed = next(batches)
    first = None
    for _ in range(30):
        loss = sum(net.losses(ctx, fixed, "bpr", 1e-4, 1.0).values())
        first = float(loss) if first is None else first
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float(loss) < 0.8 * first


@pytest.mark.parametrize("encoder", ["lightgcn", "bitgcf", "sage"])
@pytest.mark.parametrize("alignment", [None, "contrastive", "adversarial", "weight-sharing"])
def test_gradients_reach_both_domains(split, encoder, alignment):
    ctx = GraphContext.from_split(split)
    net = Network(ctx, encoder, "attention", "dot", alignment, 16, 2, {})
    batch = next(iter(Batches(ctx, 256, 1.0).epoch(torch.Generator().manual_seed(0))))
    sum(net.losses(ctx, batch, "bpr", 1e-4, 1.0).values()).backward()
    for domain in ("src", "tgt"):
        grads = [p.grad for n, p in net.named_parameters() if n.endswith(domain) and p.grad is not None]
        assert grads and any(g.abs().sum() > 0 for g in grads), f"no gradient reaches {domain}"


def test_weighted_fusion_weights_sum_to_one(split):
    ctx = GraphContext.from_split(split)
    net = Network(ctx, "lightgcn", "weighted", "dot", None, 8, 1, {"fusion": {"init_target": 0.7}})
    w = net.fusion.weights
    assert torch.isclose(w.sum(), torch.tensor(1.0)) and torch.isclose(w[0], torch.tensor(0.7))


@pytest.mark.parametrize("num_items", [50, 5000])  # whole-catalogue product / gathered rows
def test_candidate_scores_equal_pairwise_scores(num_items):
    """``score_candidates`` (sampled evaluation) equals the scorer applied to gathered rows."""
    gen = torch.Generator().manual_seed(0)
    users, items = torch.randn(7, 8, generator=gen), torch.randn(num_items, 8, generator=gen)
    candidates = torch.randint(0, num_items, (7, 11), generator=gen)
    for name in ("dot", "mlp"):
        scorer = SCORERS.resolve(name)
        scorer.setup(8, 8)
        expected = scorer(users, items[candidates])
        torch.testing.assert_close(scorer.score_candidates(users, items, candidates), expected)


def test_sampled_dot_equals_the_dense_products_with_repeated_and_unsorted_candidates():
    """The CPU path (SDDMM) gives the products of the dense paths; with gradients it is not taken."""
    from cdgraph.nn.scorers import dot_candidates, sampled_dot

    gen = torch.Generator().manual_seed(1)
    users, items = torch.randn(9, 16, generator=gen), torch.randn(300, 16, generator=gen)
    candidates = torch.randint(0, 300, (9, 40), generator=gen)
    candidates[:, 1] = candidates[:, 0]  # a repeated candidate (padding repeats the positive)
    expected = (users @ items.t()).gather(1, candidates)
    torch.testing.assert_close(sampled_dot(users, items, candidates), expected)
    assert sampled_dot(users, items, candidates[:, :0]).shape == (9, 0)
    few = items[:25]  # more candidates per user than items: the kernel would refuse the pattern
    small = candidates % 25
    torch.testing.assert_close(sampled_dot(users, few, small), (users @ few.t()).gather(1, small))
    users.requires_grad_(True)
    scores = dot_candidates(users, items, candidates)  # the differentiable dense path
    scores.sum().backward()
    torch.testing.assert_close(users.grad, items[candidates].sum(1))
