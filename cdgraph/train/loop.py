"""The optimisation loop every model's training runs through: :func:`run_loop`.

One loop (a :class:`~cdgraph.train.phases.Loop`) is Adam over epochs of batches with
early stopping on a validation metric: after ``patience`` validations without
improvement it stops and restores the best weights.

Data-parallel training: when a ``torch.distributed`` process group is initialised (e.g.
by a script launched with ``torchrun`` that calls ``init_process_group("gloo")`` on CPU or
``"nccl"`` on GPU), a ``parallel`` loop's module is wrapped in ``DistributedDataParallel``;
every rank draws the same seeded batch and trains on its ``rank::world`` shard, so the run
follows the single-process one. Only rank 0 reports epochs (and so writes checkpoints).

Resumable training: after every epoch the loop hands its complete state to
``on_epoch_end`` (module and Adam state, the epoch, the history, the best-so-far weights,
score and patience counter, and every random number generator it draws from), as tensors,
numbers, strings, lists and dicts only, so that :mod:`cdgraph.train.checkpoint` can write
it with ``torch.save`` and read it back with ``torch.load(weights_only=True)``. Given such
a state as ``resume``, the loop continues at the next epoch and, on CPU with the same
seed, ends with exactly the weights, history and metrics of an uninterrupted run. A step
with a non-finite loss raises :class:`NonFiniteLoss` before its epoch ends, so the last
complete epoch's checkpoint is left as it was.
"""
from __future__ import annotations

import copy
import logging
import math
import time
from typing import Any, Callable

import pandas as pd
import torch
from torch.nn.parallel import DistributedDataParallel
from tqdm.auto import tqdm

from cdgraph.train.checkpoint import rng_state, set_rng_state
from cdgraph.train.config import TrainConfig
from cdgraph.train.distributed import distributed
from cdgraph.train.phases import Loop, LoopResult

log = logging.getLogger(__name__)


class NonFiniteLoss(RuntimeError):
    """Training produced a NaN or infinite loss."""


def run_loop(loop: Loop, config: TrainConfig, on_epoch_end: Callable[[dict[str, Any]], None] | None = None,
             resume: dict[str, Any] | None = None, label: str | None = None) -> LoopResult:
    """Train ``loop.module`` in place; returns its :class:`LoopResult`.

    Args:
        config (TrainConfig): Supplies what the loop leaves to it (epochs, lr, patience,
            eval_every, valid_metric, seed, progress, device).
        on_epoch_end (callable, optional): Called after every epoch with the loop's
            state (see the module docstring), e.g. to write a checkpoint.
        resume (dict, optional): Such a state; training continues after its epoch, up to
            ``epochs`` in all.
        label (str, optional): The progress bar's and the log's name of the loop.
    """
    epochs = config.epochs if loop.epochs is None else loop.epochs
    lr = config.lr if loop.lr is None else loop.lr
    patience = config.patience if loop.patience == "config" else loop.patience
    eval_every = config.eval_every if loop.eval_every is None else loop.eval_every
    label = label or loop.name
    network = loop.module.to(config.device)  # a phase may build its module on the CPU
    gen = torch.Generator().manual_seed(config.seed)
    rank, world = distributed()
    module: torch.nn.Module = network
    if world > 1 and loop.parallel:  # every rank draws the same batch and trains on its shard
        module = DistributedDataParallel(network, find_unused_parameters=True, broadcast_buffers=False)
    optim = torch.optim.Adam(network.parameters(), lr=lr, weight_decay=loop.weight_decay)
    history: list[dict[str, Any]] = []
    best, best_state, best_epoch, waited = -math.inf, None, 0, 0
    first, stopped = 1, False
    resume = resume if resume is not None else loop.start
    if resume is not None:
        restore(resume, network, optim, gen, config.device, epochs, label)
        history = [dict(row) for row in resume["history"]]
        best, best_epoch, waited = resume["best_score"], resume["best_epoch"], resume["waited"]
        best_state, stopped, first = resume["best_state"], resume["stopped"], resume["epoch"] + 1
    bar = tqdm(range(first, epochs + 1), desc=label, unit="epoch", leave=False,
               disable=None if config.progress is None else not config.progress)
    for epoch in (() if stopped else bar):
        network.train()
        started = time.perf_counter()
        sums: dict[str, float] = {}
        steps = 0
        for step, batch in enumerate(loop.steps(gen)):
            terms = loop.loss(module, batch)
            loss = sum(terms.values())
            if not torch.isfinite(loss):
                raise NonFiniteLoss(f"Loss became {loss.item()} at epoch {epoch}, step {step} of {label!r}; "
                                    f"lower the learning rate (lr={lr}) or check the data.")
            optim.zero_grad(set_to_none=True)
            loss.backward()
            optim.step()
            steps += 1
            for name, value in terms.items():
                sums[name] = sums.get(name, 0.0) + float(value.detach())
        steps = max(1, steps)
        row: dict[str, Any] = {"epoch": epoch, "loss": sum(sums.values()) / steps,
                               **{f"loss/{k}": v / steps for k, v in sums.items()},
                               "train_seconds": time.perf_counter() - started}
        if loop.validate is not None and (epoch % eval_every == 0 or epoch == epochs):
            network.eval()
            started = time.perf_counter()
            score = _validate(loop.validate, config.valid_metric, row)
            row["valid_seconds"] = time.perf_counter() - started
            if score > best:
                best, best_epoch, waited = score, epoch, 0
                best_state = copy.deepcopy(network.state_dict())
            else:
                waited += 1
            bar.set_postfix(loss=f"{row['loss']:.4f}", **{config.valid_metric: f"{score:.4f}"})
        else:
            bar.set_postfix(loss=f"{row['loss']:.4f}")
        history.append(row)
        log.info("%s epoch %d: %s", label, epoch,
                 {k: round(v, 5) for k, v in row.items() if isinstance(v, float)})
        stopped = patience is not None and loop.validate is not None and waited >= patience
        if on_epoch_end is not None and rank == 0:
            on_epoch_end(loop_state(epoch, stopped, network, optim, history, best, best_epoch, waited,
                                    best_state, gen, config.device))
        if stopped:
            log.info("%s: early stop at epoch %d (best %s=%.5f at epoch %d)", label, epoch,
                     config.valid_metric, best, best_epoch)
            break
    bar.close()
    if best_state is not None:
        network.load_state_dict(best_state)
    network.eval()
    return LoopResult(pd.DataFrame(history), best, best_epoch)


def restore(state: dict[str, Any], network: torch.nn.Module, optim: torch.optim.Optimizer,
            gen: torch.Generator, device: str | torch.device, epochs: int, label: str) -> None:
    """Put the module, the optimiser and the random generators back as ``state`` holds them."""
    if state["epoch"] > epochs:
        raise ValueError(f"The checkpoint has already trained {state['epoch']} epochs of {label!r}; "
                         f"epochs={epochs} is the total budget, so pass at least {state['epoch']}.")
    network.load_state_dict(state["network"])
    optim.load_state_dict(state["optimizer"])
    set_rng_state(state["rng"], gen, device)
    log.info("%s: continuing at epoch %d of %d%s", label, state["epoch"] + 1, epochs,
             " (the run had stopped early)" if state["stopped"] else "")


def _validate(validate: Callable[[], dict[str, float]], metric: str, row: dict[str, Any]) -> float:
    """Run ``validate``, add its metrics to the epoch's ``row``; returns ``metric``'s value."""
    metrics = validate()
    row.update({f"valid/{k}": float(v) for k, v in metrics.items()})
    if metrics.get(metric) is None:
        raise ValueError(f"valid_metric {metric!r} is not among the computed metrics {sorted(metrics)}.")
    return float(metrics[metric])


def loop_state(epoch: int, stopped: bool, network: torch.nn.Module, optim: torch.optim.Optimizer,
               history: list[dict[str, Any]], best: float, best_epoch: int, waited: int,
               best_state: dict[str, torch.Tensor] | None, gen: torch.Generator,
               device: str | torch.device) -> dict[str, Any]:
    """The complete state of a loop after ``epoch`` (see the module docstring)."""
    return {"epoch": epoch, "stopped": stopped, "network": _cpu(network.state_dict()),
            "optimizer": optim.state_dict(), "history": history, "best_score": best,
            "best_epoch": best_epoch, "waited": waited,
            "best_state": None if best_state is None else _cpu(best_state),
            "rng": rng_state(gen, device)}


def _cpu(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v.detach().to("cpu", copy=True) for k, v in state.items()}
