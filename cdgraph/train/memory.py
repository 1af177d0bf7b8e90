"""Will full-batch training fit? An estimate made before the first step.

Full-batch training propagates every node at every step; its working memory grows
with the graph, not with the batch. :func:`estimate_full_batch` adds up what one step
holds at its peak, and :func:`check_full_batch` (called by
:class:`~cdgraph.train.Trainer` before a graph model's loop) refuses to
start a run that would not fit, pointing to the mini-batch mode (``neighbors=``).
"""
from __future__ import annotations

import logging
import os

import torch

from cdgraph.nn.base import GraphContext

log = logging.getLogger(__name__)
GiB = 1 << 30


def estimate_full_batch(ctx: GraphContext, network: torch.nn.Module, batch_size: int = 8192,
                        domains_per_step: int = 2) -> dict[str, int]:
    """Bytes a full-batch training step needs at its peak, by part.

    * ``parameters``: weights, gradients and Adam's two moments (4 x 4 bytes each);
    * ``adjacency``: the normalised CSR blocks and their transposes (value 4 + column
      index 8 bytes per nonzero, both directions, plus row pointers);
    * ``activations``: the propagated tables kept for the backward pass and their
      gradients, ``(layers + 2) x nodes x dim x 4`` bytes;
    * ``sampling``: the train pairs and each user's sorted positives used to draw
      negatives (about 32 bytes per interaction);
    * ``batch``: the batch's scores and embeddings (small next to the rest).

    On small graphs a process's memory can grow beyond the estimate, because the allocator
    keeps freed blocks instead of returning them; such graphs fit anyway. The check matters
    for large graphs, where ``benchmarks/results/minibatch.md`` compares it with what a
    step took.
    """
    encoder = network.encoder
    nodes = ctx.num_users + sum(ctx.num_items.values())
    edges = sum(len(u) for u, _ in ctx.edges.values())
    params = sum(p.numel() * p.element_size() for p in network.parameters()
                 if not isinstance(p, torch.nn.parameter.UninitializedParameter))  # lazy: not yet sized
    layers = getattr(encoder, "layers", 1)
    rows = 2 * nodes
    parts = {
        "parameters": 4 * params,
        "adjacency": 2 * edges * 12 + 8 * rows,
        "activations": (layers + 2) * nodes * encoder.out_dim * 4,
        "sampling": 32 * edges,
        "batch": domains_per_step * batch_size * 3 * encoder.out_dim * 4 * 4,
    }
    parts["total"] = sum(parts.values())
    return parts


def available_memory(device: torch.device | str = "cpu") -> int | None:
    """Free bytes on ``device``: ``MemAvailable`` on Linux, free CUDA memory; None if unknown."""
    device = torch.device(device)
    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])
    if device.type != "cpu":
        return None
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def check_full_batch(ctx: GraphContext, network: torch.nn.Module, batch_size: int,
                     domains_per_step: int, available: int | None = None) -> dict[str, int]:
    """Raise ``MemoryError`` before training when the full-batch estimate exceeds free memory.

    ``CDGRAPH_MEMORY_LIMIT`` (bytes, or with a ``K``/``M``/``G`` suffix) caps the memory
    considered free, e.g. to keep room for other processes.
    """
    parts = estimate_full_batch(ctx, network, batch_size, domains_per_step)
    free = available_memory(ctx.device) if available is None else available
    limit = os.environ.get("CDGRAPH_MEMORY_LIMIT")
    if limit:
        free = min(free, _bytes(limit)) if free is not None else _bytes(limit)
    log.info("full-batch memory estimate: %.2f GiB (%s); free: %s", parts["total"] / GiB,
             ", ".join(f"{k} {v / GiB:.2f}" for k, v in parts.items() if k != "total"),
             "unknown" if free is None else f"{free / GiB:.2f} GiB")
    if free is not None and parts["total"] > free:
        layers = getattr(network.encoder, "layers", 1)
        raise MemoryError(
            f"Full-batch training of this graph ({ctx.num_users:,} users, "
            f"{sum(ctx.num_items.values()):,} items, {sum(len(u) for u, _ in ctx.edges.values()):,} "
            f"interactions) needs about {parts['total'] / GiB:.1f} GiB "
            f"(activations {parts['activations'] / GiB:.1f}, parameters with Adam "
            f"{parts['parameters'] / GiB:.1f}, adjacency {parts['adjacency'] / GiB:.1f}); "
            f"{free / GiB:.1f} GiB is free on {ctx.device}. Train in mini-batch mode with "
            f"fit(..., neighbors={[10] * max(1, layers)}) (one fanout per layer), or use fewer "
            f"dimensions or layers; check_memory=False skips this check.")
    return parts


def _bytes(text: str) -> int:
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    text = text.strip().upper().removesuffix("B").removesuffix("I")
    try:
        if text and text[-1] in units:
            return int(float(text[:-1]) * units[text[-1]])
        return int(text)
    except ValueError:
        raise ValueError(f"CDGRAPH_MEMORY_LIMIT={text!r} is not a size such as 8G or 512M.") from None
