"""The trainable network behind a recommender: encoder + fusion head + scorer + alignments."""
from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from cdgraph.graph.context import GraphContext
from cdgraph.graph.sampling import SampledGraph
from cdgraph.nn.base import ALIGNMENTS, ENCODERS, FUSIONS, SCORERS, Encoded
from cdgraph.nn.losses import LOSSES
from cdgraph.nn.scorers import DotScorer


def component_list(value: Any) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def check_components(encoder: Any, fusion: Any, scorer: Any, alignment: Any, dim: int, layers: int,
                     options: dict[str, dict]) -> None:
    """Raise the error :class:`Network` would raise on an unknown component or an option it
    does not take, without building anything (no data needed)."""
    ENCODERS.check(encoder, dim=dim, layers=layers, **options.get("encoder", {}))
    FUSIONS.check(fusion, **options.get("fusion", {}))
    SCORERS.check(scorer, **options.get("scorer", {}))
    for a in component_list(alignment):
        ALIGNMENTS.check(a, **options.get("alignment", {}))


class Network(nn.Module):
    """Encoder, fusion head, scorer and alignment losses, resolved from names or objects."""

    def __init__(self, ctx: GraphContext, encoder: Any, fusion: Any, scorer: Any, alignment: Any,
                 dim: int, layers: int, options: dict[str, dict]) -> None:
        super().__init__()
        self.encoder = ENCODERS.resolve(encoder, dim=dim, layers=layers, **options.get("encoder", {}))
        self.encoder.setup(ctx)
        self.fusion = FUSIONS.resolve(fusion, **options.get("fusion", {}))
        self.fusion.setup(ctx, self.encoder.out_dim)
        self.scorer = SCORERS.resolve(scorer, **options.get("scorer", {}))
        self.scorer.setup(self.fusion.out_dim, self.encoder.out_dim)
        aligns = [ALIGNMENTS.resolve(a, **options.get("alignment", {})) for a in component_list(alignment)]
        self.alignments = nn.ModuleList(aligns)
        for a in self.alignments:
            a.setup(ctx, self.encoder.out_dim, self.encoder)
        self.order = [ctx.target] + ctx.sources
        self.dot = DotScorer()  # source domains are scored by inner product

    def fuse(self, encoded: Encoded, users: Tensor) -> Tensor:
        """The fused target-domain representation of ``users``."""
        return self.fusion([encoded.users[d][users] for d in self.order], users)

    def forward(self, ctx: GraphContext, batch: dict[str, tuple[Tensor, Tensor, Tensor]], loss: str,
                l2: float, source_weight: float, sample: SampledGraph | None = None) -> dict[str, Tensor]:
        """The step's loss terms (see :meth:`losses`); the call ``DistributedDataParallel`` wraps."""
        return self.losses(ctx, batch, loss, l2, source_weight, sample)

    def losses(self, ctx: GraphContext, batch: dict[str, tuple[Tensor, Tensor, Tensor]], loss: str,
               l2: float, source_weight: float, sample: SampledGraph | None = None) -> dict[str, Tensor]:
        """Loss terms of one step. ``batch[d] = (users, positives, negatives)`` per domain.

        With ``sample`` (mini-batch mode), the encoder propagates over that sampled
        subgraph only and the batch is taken in the sample's local positions.
        """
        if sample is not None:
            if len(self.alignments):
                raise ValueError("Alignment losses need full-batch training; drop neighbors=... "
                                 "or the alignment.")
            encoded, batch = self.encoder.forward_sampled(ctx, sample), sample.batch
        else:
            encoded = self.encoder(ctx)
        target = ctx.target
        terms: dict[str, Tensor] = {}
        users, pos, neg = batch[target]
        x = self.fuse(encoded, users)
        items = encoded.items[target]
        terms["target"] = LOSSES.get(loss)(self.scorer, x, items, pos, neg)
        reg = _l2(encoded, target, users, pos, neg)
        all_users = [users]
        for d in ctx.sources:
            if d not in batch or source_weight == 0 or d not in encoded.items:
                continue
            su, sp, sn = batch[d]
            xs = encoded.users[d][su]
            terms[f"source:{d}"] = source_weight * LOSSES.get(loss)(self.dot, xs, encoded.items[d], sp, sn)
            reg = reg + _l2(encoded, d, su, sp, sn)
            all_users.append(su)
        terms["l2"] = l2 * reg
        batch_users = torch.cat(all_users)
        for a in self.alignments:
            terms[f"align:{a.registered_name}"] = a(encoded, batch_users, ctx, batch)
        extra = self.encoder.regularization()
        if extra is not None:
            terms["encoder"] = extra
        return terms

    @torch.no_grad()
    def final(self, ctx: GraphContext, chunk: int = 65536) -> tuple[Tensor, Tensor]:
        """Fused user embeddings of all users and target item embeddings."""
        encoded = self.encoder(ctx)
        n = ctx.num_users
        dev = encoded.items[ctx.target].device
        fused = torch.cat([self.fuse(encoded, torch.arange(s, min(n, s + chunk), device=dev))
                           for s in range(0, n, chunk)])
        return fused, encoded.items[ctx.target]


def _l2(encoded: Encoded, domain: str, users: Tensor, pos: Tensor, neg: Tensor) -> Tensor:
    """L2 on the batch's layer-0 embeddings, ``0.5 * sum of squares / batch``."""
    u = encoded.ego_users[domain][users]
    items = encoded.ego_items.get(domain)
    total = u.pow(2).sum()
    if items is not None:
        total = total + items[pos].pow(2).sum() + items[neg].pow(2).sum()
    return 0.5 * total / max(1, users.numel())
