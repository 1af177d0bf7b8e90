"""The training loop shared by every graph model: BPR/BCE, sampling, early stopping."""
from __future__ import annotations

import copy
import logging
import math
import time
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from .network import Network
from .nn.base import GraphContext
from .sampling import PositiveSet
from .split import Split

log = logging.getLogger(__name__)


class NonFiniteLoss(RuntimeError):
    """Training produced a NaN or infinite loss."""


@dataclass
class TrainConfig:
    """Options of :meth:`CrossDomainRecommender.fit` (see there)."""

    epochs: int = 50
    lr: float = 1e-3
    batch_size: int = 2048
    seed: int = 0
    patience: int | None = 10
    eval_every: int = 1
    valid_metric: str = "NDCG@10"
    valid_protocol: str = "full"
    num_negatives: int = 999
    loss: str = "bpr"
    l2: float = 1e-4
    source_weight: float = 1.0
    progress: bool | None = None


class Batches:
    """Per-epoch mini-batches: every target train pair once, plus as many random pairs
    of each source domain, each with one negative the user has not interacted with."""

    def __init__(self, ctx: GraphContext, generator: torch.Generator, batch_size: int,
                 source_weight: float) -> None:
        self.ctx, self.gen, self.batch_size = ctx, generator, batch_size
        domains = ctx.domains if source_weight > 0 else [ctx.target]
        self.pairs = {d: (torch.tensor(ctx.edges[d][0]), torch.tensor(ctx.edges[d][1]))
                      for d in domains if len(ctx.edges[d][0])}
        self.positives = {d: PositiveSet(ctx.edges[d][0], ctx.edges[d][1], ctx.num_items[d])
                          for d in self.pairs}
        if ctx.target not in self.pairs:
            raise ValueError(f"The target domain {ctx.target!r} has no training interaction.")

    def __len__(self) -> int:
        return math.ceil(len(self.pairs[self.ctx.target][0]) / self.batch_size)

    def __iter__(self):
        target = self.ctx.target
        n = len(self.pairs[target][0])
        order = torch.randperm(n, generator=self.gen)
        dev = self.ctx.device
        for start in range(0, n, self.batch_size):
            batch = {}
            for d, (u, i) in self.pairs.items():
                if d == target:
                    idx = order[start:start + self.batch_size]
                else:
                    idx = torch.randint(0, len(u), (min(self.batch_size, n - start),), generator=self.gen)
                users, pos = u[idx], i[idx]
                neg = self.positives[d].sample_negatives(users, self.gen)[:, 0]
                batch[d] = (users.to(dev), pos.to(dev), neg.to(dev))
            yield batch


def train(network: Network, ctx: GraphContext, split: Split, cfg: TrainConfig,
          validate: Callable[[], dict[str, float]] | None) -> pd.DataFrame:
    """Train ``network`` in place; returns the per-epoch history.

    With ``validate`` and ``patience``, training stops after ``patience`` evaluations
    without improvement of ``cfg.valid_metric`` and the best weights are restored.
    """
    gen = torch.Generator().manual_seed(cfg.seed)
    batches = Batches(ctx, gen, cfg.batch_size, cfg.source_weight)
    optim = torch.optim.Adam(network.parameters(), lr=cfg.lr)
    history: list[dict[str, Any]] = []
    best, best_state, best_epoch, waited = -math.inf, None, 0, 0
    bar = tqdm(range(1, cfg.epochs + 1), desc="train", unit="epoch", leave=False,
               disable=None if cfg.progress is None else not cfg.progress)
    for epoch in bar:
        network.train()
        started = time.perf_counter()
        sums: dict[str, float] = {}
        for step, batch in enumerate(batches):
            terms = network.losses(ctx, batch, cfg.loss, cfg.l2, cfg.source_weight)
            loss = sum(terms.values())
            if not torch.isfinite(loss):
                raise NonFiniteLoss(f"Loss became {loss.item()} at epoch {epoch}, step {step}; "
                                    f"lower the learning rate (lr={cfg.lr}) or check the data.")
            optim.zero_grad(set_to_none=True)
            loss.backward()
            optim.step()
            for name, value in terms.items():
                sums[name] = sums.get(name, 0.0) + float(value.detach())
        row: dict[str, Any] = {"epoch": epoch, "loss": sum(sums.values()) / len(batches),
                               **{f"loss/{k}": v / len(batches) for k, v in sums.items()},
                               "train_seconds": time.perf_counter() - started}
        if validate is not None and (epoch % cfg.eval_every == 0 or epoch == cfg.epochs):
            network.eval()
            metrics = validate()
            row.update({f"valid/{k}": v for k, v in metrics.items()})
            score = metrics.get(cfg.valid_metric)
            if score is None:
                raise ValueError(f"valid_metric {cfg.valid_metric!r} is not among the computed "
                                 f"metrics {sorted(metrics)}.")
            if score > best:
                best, best_epoch, waited = score, epoch, 0
                best_state = copy.deepcopy(network.state_dict())
            else:
                waited += 1
            bar.set_postfix(loss=f"{row['loss']:.4f}", **{cfg.valid_metric: f"{score:.4f}"})
        else:
            bar.set_postfix(loss=f"{row['loss']:.4f}")
        history.append(row)
        log.info("epoch %d: %s", epoch, {k: round(v, 5) for k, v in row.items() if isinstance(v, float)})
        if cfg.patience is not None and validate is not None and waited >= cfg.patience:
            log.info("early stop at epoch %d (best %s=%.5f at epoch %d)", epoch, cfg.valid_metric,
                     best, best_epoch)
            break
    bar.close()
    if best_state is not None:
        network.load_state_dict(best_state)
    network.eval()
    frame = pd.DataFrame(history)
    frame.attrs["best_epoch"] = best_epoch
    return frame
