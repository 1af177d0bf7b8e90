"""Data-parallel training under ``torch.distributed`` (see :mod:`cdgraph.train.loop`)."""
from __future__ import annotations

import torch.distributed as dist


def distributed() -> tuple[int, int]:
    """``(rank, world size)`` of an initialised ``torch.distributed`` process group, else ``(0, 1)``."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def shard(batch: dict[str, tuple], rank: int, world: int) -> dict[str, tuple]:
    """This rank's share of every domain's ``(users, positives, negatives)``."""
    return {d: tuple(t[rank::world] for t in part) for d, part in batch.items()}
