"""The training loop shared by every graph model: BPR/BCE, sampling, early stopping.

Data-parallel training: when a ``torch.distributed`` process group is initialised (e.g.
by a script launched with ``torchrun`` that calls ``init_process_group("gloo")`` on CPU
or ``"nccl"`` on GPU), the network is wrapped in ``DistributedDataParallel``; every rank
draws the same seeded batch, trains on its ``rank::world`` shard, and gradients are
averaged, so the run follows the single-process one. Only rank 0 writes checkpoints.

Resumable training: :func:`train` hands the complete state of the loop to an
``on_epoch_end`` callback after every epoch (network and Adam state, the epoch, the
history, the best-so-far weights, score and patience counter, and every random number
generator the loop draws from: the batch sampler's generator, torch's global CPU
generator, numpy's global generator and, on CUDA, the CUDA generators), as a dict of
tensors, numbers, strings, lists and dicts only, so that it can be written with
``torch.save`` and read back with ``torch.load(weights_only=True)``.
:meth:`CrossDomainRecommender.fit(checkpoint=..., resume=True) <cdgraph.CrossDomainRecommender.fit>`
writes it atomically and passes it back as ``resume``; training then continues at
the next epoch and, on CPU with the same seed, ends with exactly the weights, history
and metrics of an uninterrupted run. :func:`data_fingerprint` and
:func:`check_fingerprint` refuse a checkpoint made on other data or another split.
A step with a non-finite loss raises :class:`NonFiniteLoss` before its epoch ends, so
the checkpoint of the last complete epoch is left as it was.
"""
from __future__ import annotations

import copy
import dataclasses
import hashlib
import logging
import math
import numbers
import time
from dataclasses import asdict, dataclass
from typing import Any, Callable

import numpy as np
import pandas as pd
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from tqdm.auto import tqdm

from cdgraph.models.network import Network
from cdgraph.nn.base import GraphContext
from cdgraph.graph.sampling import NeighborSampler
from cdgraph.data.positives import PositiveSet
from cdgraph.data.split import Split

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
    neighbors: list[int] | None = None
    cold_simulation: float = 0.0
    progress: bool | None = None


#: TrainConfig fields that may differ between a checkpoint and the run resuming it.
RESUMABLE_CHANGES = ("epochs", "progress")

#: The values each numeric option of the models and their ``fit`` takes:
#: (integer or any finite number, positive or non-negative, other values allowed).
OPTION_RANGES: dict[str, tuple[type, str, tuple[Any, ...]]] = {
    "dim": (int, "positive", ()), "layers": (int, "non-negative", ()),
    "epochs": (int, "positive", ()), "batch_size": (int, "positive", ()),
    "eval_every": (int, "positive", ()), "patience": (int, "positive", (None,)),
    "num_negatives": (int, "positive", ()), "lr": (float, "positive", ()),
    "l2": (float, "non-negative", ()), "source_weight": (float, "non-negative", ("auto",)),
    "source_weights": (float, "non-negative", ()),
    "hidden": (int, "positive", (None,)), "map_epochs": (int, "positive", ()),
    "map_lr": (float, "positive", ()), "meta_dim": (int, "positive", ()),
    "history": (int, "positive", ()), "meta_epochs": (int, "positive", ()),
    "meta_lr": (float, "positive", ()), "meta_batch_size": (int, "positive", ()),
    "meta_l2": (float, "non-negative", ()),
}


def check_options(where: str, **options: Any) -> None:
    """Raise ``ValueError`` naming the first option outside its :data:`OPTION_RANGES` range,
    e.g. ``check_options("fit", lr=-1)``: "fit: lr must be a positive number, got -1."."""
    for name, value in options.items():
        kind, sign, others = OPTION_RANGES[name]
        if any(value is other or (isinstance(value, str) and value == other) for other in others):
            continue
        ok = (isinstance(value, numbers.Integral if kind is int else numbers.Real)
              and not isinstance(value, bool) and math.isfinite(value)
              and (value > 0 if sign == "positive" else value >= 0))
        if not ok:
            allowed = "".join(f" or {other!r}" for other in others)
            raise ValueError(f"{where}: {name} must be a {sign} {'integer' if kind is int else 'number'}"
                             f"{allowed}, got {value!r}.")


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
          validate: Callable[[], dict[str, float]] | None,
          on_epoch_end: Callable[[dict[str, Any]], None] | None = None,
          resume: dict[str, Any] | None = None) -> pd.DataFrame:
    """Train ``network`` in place; returns the per-epoch history.

    With ``validate`` and ``patience``, training stops after ``patience`` evaluations
    without improvement of ``cfg.valid_metric`` and the best weights are restored.

    Args:
        on_epoch_end (callable, optional): Called after every epoch with the loop's
            state (see the module docstring), e.g. to write a checkpoint.
        resume (dict, optional): Such a state; training continues after its epoch,
            up to ``cfg.epochs`` epochs in all.
    """
    gen = torch.Generator().manual_seed(cfg.seed)
    batches = Batches(ctx, gen, cfg.batch_size, cfg.source_weight)
    sampler = None
    if cfg.neighbors:  # mini-batch mode: propagate over a sampled subgraph per step
        if len(cfg.neighbors) != network.encoder.layers:
            raise ValueError(f"neighbors={list(cfg.neighbors)} gives {len(cfg.neighbors)} fanouts; the "
                             f"encoder has {network.encoder.layers} layers: give one per layer.")
        domains = network.encoder.sampled_domains(ctx)
        sampler = NeighborSampler({d: ctx.edges[d] for d in domains}, ctx.num_users,
                                  ctx.num_items, list(cfg.neighbors), ctx.device)
    rank, world = distributed()
    module: torch.nn.Module = network
    if world > 1:  # data parallel: every rank draws the same batch and trains on its shard
        module = DistributedDataParallel(network, find_unused_parameters=True, broadcast_buffers=False)
    optim = torch.optim.Adam(network.parameters(), lr=cfg.lr)
    history: list[dict[str, Any]] = []
    best, best_state, best_epoch, waited = -math.inf, None, 0, 0
    first, stopped = 1, False
    if resume is not None:
        if resume["epoch"] > cfg.epochs:
            raise ValueError(f"The checkpoint has already trained {resume['epoch']} epochs; epochs="
                             f"{cfg.epochs} is the total budget, so pass at least {resume['epoch']}.")
        network.load_state_dict(resume["network"])
        optim.load_state_dict(resume["optimizer"])
        history = [dict(row) for row in resume["history"]]
        best, best_epoch, waited = resume["best_score"], resume["best_epoch"], resume["waited"]
        best_state = resume["best_state"]
        stopped = resume["stopped"]
        set_rng_state(resume["rng"], gen, ctx.device)
        first = resume["epoch"] + 1
        log.info("resuming at epoch %d of %d%s", first, cfg.epochs,
                 " (the checkpointed run had stopped early)" if stopped else "")
    bar = tqdm(range(first, cfg.epochs + 1), desc="train", unit="epoch", leave=False,
               disable=None if cfg.progress is None else not cfg.progress)
    if cfg.cold_simulation and sampler is not None:
        raise ValueError("cold_simulation needs full-batch training; drop neighbors=... or set it to 0.")
    graph = ctx
    for epoch in (() if stopped else bar):
        network.train()
        started = time.perf_counter()
        sums: dict[str, float] = {}
        if cfg.cold_simulation:
            graph = hide_target_edges(ctx, cfg.cold_simulation, gen)
        for step, batch in enumerate(batches):
            # sampled on the whole batch, so that every rank draws the same random numbers
            sample = None if sampler is None else sampler.sample(batch, gen)
            if world > 1:
                batch = _shard(batch, rank, world)
                if sample is not None:
                    sample.batch = _shard(sample.batch, rank, world)
            terms = module(graph, batch, cfg.loss, cfg.l2, cfg.source_weight, sample)
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
            row.update({f"valid/{k}": float(v) for k, v in metrics.items()})
            score = metrics.get(cfg.valid_metric)
            if score is None:
                raise ValueError(f"valid_metric {cfg.valid_metric!r} is not among the computed "
                                 f"metrics {sorted(metrics)}.")
            score = float(score)
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
        stopped = cfg.patience is not None and validate is not None and waited >= cfg.patience
        if on_epoch_end is not None and rank == 0:
            on_epoch_end({
                "epoch": epoch, "stopped": stopped, "train_config": asdict(cfg),
                "network": _cpu(network.state_dict()), "optimizer": optim.state_dict(),
                "history": history, "best_score": best, "best_epoch": best_epoch, "waited": waited,
                "best_state": None if best_state is None else _cpu(best_state),
                "rng": rng_state(gen, ctx.device)})
        if stopped:
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


def distributed() -> tuple[int, int]:
    """``(rank, world size)`` of an initialised ``torch.distributed`` process group, else ``(0, 1)``."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _cpu(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v.detach().to("cpu", copy=True) for k, v in state.items()}


# ------------------------------------------------------------------ random number generators
def rng_state(gen: torch.Generator, device: torch.device | str = "cpu") -> dict[str, Any]:
    """The states of the batch generator ``gen``, torch's global generator(s) and numpy's
    global generator, as tensors and numbers."""
    name, keys, pos, has_gauss, cached = np.random.get_state()
    state: dict[str, Any] = {
        "batches": gen.get_state(), "torch": torch.get_rng_state(),
        "numpy": {"keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "cached_gaussian": float(cached)}}
    if torch.device(device).type == "cuda" and torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any], gen: torch.Generator, device: torch.device | str = "cpu") -> None:
    """Restore what :func:`rng_state` recorded."""
    gen.set_state(state["batches"])
    torch.set_rng_state(state["torch"])
    np_state = state["numpy"]
    np.random.set_state(("MT19937", np_state["keys"].numpy().astype(np.uint32), np_state["pos"],
                         np_state["has_gauss"], np_state["cached_gaussian"]))
    if torch.device(device).type == "cuda" and torch.cuda.is_available():
        if "cuda" not in state:
            log.warning("the checkpoint was written on CPU; CUDA random state is not restored, "
                        "so this run will not repeat an uninterrupted one exactly.")
        else:
            torch.cuda.set_rng_state_all(state["cuda"])


# ------------------------------------------------------------------ data fingerprint
def data_fingerprint(split: Split) -> dict[str, Any]:
    """What a checkpoint must agree on with the split resuming it: sizes, id maps, the
    training interactions of every domain and the validation pairs (sha256 each)."""
    data = split.data

    def digest(*arrays: np.ndarray) -> str:
        h = hashlib.sha256()
        for a in arrays:
            h.update(np.ascontiguousarray(a).tobytes())
        return h.hexdigest()

    def ids(index: pd.Index) -> str:
        return hashlib.sha256("\x1f".join(map(str, index)).encode()).hexdigest()

    return {
        "target": split.target, "num_users": int(data.num_users),
        "num_items": {d: int(data.num_items(d)) for d in data.domains},
        "ids": hashlib.sha256((ids(data.user_ids) + "".join(ids(data.item_ids[d]) for d in data.domains))
                              .encode()).hexdigest(),
        "train": {d: digest(f["user"].to_numpy(np.int64), f["item"].to_numpy(np.int64))
                  for d, f in sorted(split.train.items())},
        "valid": digest(split.valid["user"].to_numpy(np.int64), split.valid["item"].to_numpy(np.int64)),
    }


def check_fingerprint(saved: dict[str, Any], current: dict[str, Any], where: str) -> None:
    """Raise ``ValueError`` naming what differs between two :func:`data_fingerprint` results."""
    def sizes(fp: dict[str, Any]) -> str:
        items = ", ".join(f"{d} {n}" for d, n in fp["num_items"].items())
        return f"{fp['num_users']} users / {items} items"

    advice = "resume only on the data and split it was made on, or train afresh (resume=False)."
    if saved["target"] != current["target"]:
        raise ValueError(f"Checkpoint {where!r} was made for target {saved['target']!r}; this split's "
                         f"target is {current['target']!r}; {advice}")
    if saved["num_users"] != current["num_users"] or saved["num_items"] != current["num_items"]:
        raise ValueError(f"Checkpoint {where!r} was made on data with {sizes(saved)}; this split has "
                         f"{sizes(current)}; {advice}")
    if saved["ids"] != current["ids"]:
        raise ValueError(f"Checkpoint {where!r} was made on data with other user/item ids (id maps "
                         f"differ); {advice}")
    changed = sorted(d for d in set(saved["train"]) | set(current["train"])
                     if saved["train"].get(d) != current["train"].get(d))
    if changed:
        raise ValueError(f"Checkpoint {where!r}: train interactions differ (domain "
                         f"{', '.join(map(repr, changed))}): another split or seed; {advice}")
    if saved["valid"] != current["valid"]:
        raise ValueError(f"Checkpoint {where!r}: validation interactions differ (another split); {advice}")


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
    return dataclasses.replace(ctx, edges=edges, _blocks={})


def _shard(batch: dict[str, tuple], rank: int, world: int) -> dict[str, tuple]:
    """This rank's share of every domain's ``(users, positives, negatives)``."""
    return {d: tuple(t[rank::world] for t in part) for d, part in batch.items()}


def check_train_config(saved: dict[str, Any], cfg: TrainConfig, where: str) -> None:
    """Raise ``ValueError`` if ``cfg`` differs from a checkpoint's options other than
    :data:`RESUMABLE_CHANGES`."""
    current = asdict(cfg)
    diff = [f"{k}={saved.get(k)!r} in the checkpoint, {v!r} now" for k, v in current.items()
            if k not in RESUMABLE_CHANGES and saved.get(k) != v]
    if diff:
        raise ValueError(f"Checkpoint {where!r} was trained with other options: {'; '.join(diff)}. "
                         f"Resume with the same options (only {', '.join(RESUMABLE_CHANGES)} may change) "
                         f"or train afresh (resume=False).")
