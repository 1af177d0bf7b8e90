"""Negative sampling for the graph models: each epoch's batches of (user, positive, negative).

:class:`Batches` draws, per step, every target training pair once per epoch plus as many
random pairs of each source domain, each with one negative the user has not interacted
with (:meth:`cdgraph.data.pairs.PairIndex.sample_negatives`). :func:`hide_target_edges`
is the cold-start simulation that a graph model's epochs can apply to the graph first.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Iterator

import numpy as np
import torch
from torch import Tensor

from cdgraph.data.pairs import PairIndex
from cdgraph.graph.context import GraphContext
from cdgraph.train.config import TrainConfig


def step_size(config: TrainConfig, positives: int) -> tuple[int, float]:
    """The batch size and learning rate of an epoch over ``positives`` target interactions.

    ``batch_size`` and ``lr`` as configured, unless an epoch would take more than ``max_steps``
    steps: then the batch grows to ``ceil(positives / max_steps)`` and the learning rate by the
    square root of that growth, the rule that keeps the variance of Adam's updates about
    constant as the batch grows (Krizhevsky, "One weird trick for parallelizing convolutional
    neural networks", 2014; Hoffer, Hubara and Soudry, NeurIPS 2017). An epoch then costs
    ``max_steps`` propagations of the graph whatever its size, so its time grows linearly with
    the interactions instead of with their square.
    """
    steps = math.ceil(positives / config.batch_size)
    if config.max_steps is None or steps <= config.max_steps:
        return config.batch_size, config.lr
    batch = math.ceil(positives / config.max_steps)
    return batch, config.lr * math.sqrt(batch / config.batch_size)


class Batches:
    """Per-epoch mini-batches: every target train pair once, plus as many random pairs of
    each source domain (none when ``source_weight`` is 0), each with one negative.

    ``batches.epoch(generator)`` yields ``{domain: (users, positives, negatives)}``, all
    randomness drawn from ``generator``.
    """

    def __init__(self, ctx: GraphContext, batch_size: int, source_weight: float) -> None:
        self.ctx, self.batch_size = ctx, batch_size
        domains = ctx.domains if source_weight > 0 else [ctx.target]
        self.pairs = {d: (torch.tensor(ctx.edges[d][0]), torch.tensor(ctx.edges[d][1]))
                      for d in domains if len(ctx.edges[d][0])}
        self.positives = {d: PairIndex(ctx.edges[d][0], ctx.edges[d][1], ctx.num_items[d], name=d)
                          for d in self.pairs}
        if ctx.target not in self.pairs:
            raise ValueError(f"The target domain {ctx.target!r} has no training interaction.")

    def __len__(self) -> int:
        return math.ceil(len(self.pairs[self.ctx.target][0]) / self.batch_size)

    def epoch(self, generator: torch.Generator) -> Iterator[dict[str, tuple[Tensor, Tensor, Tensor]]]:
        target = self.ctx.target
        n = len(self.pairs[target][0])
        order = torch.randperm(n, generator=generator)
        dev = self.ctx.device
        for start in range(0, n, self.batch_size):
            batch = {}
            for d, (u, i) in self.pairs.items():
                if d == target:
                    idx = order[start:start + self.batch_size]
                else:
                    idx = torch.randint(0, len(u), (min(self.batch_size, n - start),), generator=generator)
                users, pos = u[idx], i[idx]
                neg = self.positives[d].sample_negatives(users, generator)[:, 0]
                batch[d] = (users.to(dev), pos.to(dev), neg.to(dev))
            yield batch


def hide_target_edges(ctx: GraphContext, fraction: float, generator: torch.Generator) -> GraphContext:
    """The training graph with the target-domain edges of a random ``fraction`` of the shared
    users removed: cold-start simulation.

    Those users' target interactions stay in the loss, so the propagated part of their
    embedding must predict their target items from their source-domain neighbourhood alone,
    which is all a cold-start user has. (In the spirit of the cold-start simulation of
    meta-learning recommenders, e.g. MeLU, Lee et al., KDD 2019, and of DropEdge, Rong et
    al., ICLR 2020, restricted to the edges that cold users lack.) Drawn anew every epoch.
    """
    users, items = ctx.edges[ctx.target]
    has_source = np.zeros(ctx.num_users, bool)
    for d in ctx.sources:
        has_source[ctx.edges[d][0]] = True
    chosen = (torch.rand(ctx.num_users, generator=generator).numpy() < fraction) & has_source
    keep = ~chosen[users]
    edges = {**ctx.edges, ctx.target: (users[keep], items[keep])}
    return dataclasses.replace(ctx, edges=edges, blocks_cache={})
