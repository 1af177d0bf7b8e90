"""The training graph as the models see it: :class:`GraphContext`.

A context holds what every encoder needs about a split's training graph: the domains,
the target, the sizes, each domain's training edges, and the normalised adjacency blocks
(:mod:`cdgraph.graph.propagation`) built from them once and cached.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor

from cdgraph.data.split import Split
from cdgraph.graph.propagation import Block, normalized_blocks


@dataclass
class GraphContext:
    """What a component needs to know about the training graph.

    Attributes:
        domains (list[str]): All domains; ``target`` among them.
        target (str): The domain being recommended.
        num_users (int): Users over all domains (one shared index).
        num_items (dict[str, int]): Items per domain.
        edges (dict[str, tuple[ndarray, ndarray]]): Train ``(users, items)`` per domain.
        device (torch.device): Where tensors live.
    """

    domains: list[str]
    target: str
    num_users: int
    num_items: dict[str, int]
    edges: dict[str, tuple[np.ndarray, np.ndarray]]
    device: torch.device = torch.device("cpu")
    blocks_cache: dict[bool, dict[str, Block]] = field(default_factory=dict, repr=False)

    @property
    def sources(self) -> list[str]:
        return [d for d in self.domains if d != self.target]

    def blocks(self, joint: bool = True) -> dict[str, Block]:
        """Normalised adjacency blocks (cached), see :func:`normalized_blocks`."""
        if joint not in self.blocks_cache:
            blocks = normalized_blocks(self.edges, self.num_users, self.num_items, joint=joint)
            self.blocks_cache[joint] = {d: b.to(self.device) for d, b in blocks.items()}
        return self.blocks_cache[joint]

    def user_degree(self, domain: str) -> Tensor:
        u = self.edges[domain][0]
        return torch.from_numpy(np.bincount(u, minlength=self.num_users)).to(self.device)

    @classmethod
    def from_split(cls, split: Split, device: torch.device | str = "cpu") -> "GraphContext":
        """The context of a split's training graph."""
        data = split.data
        edges = {d: (f["user"].to_numpy(np.int64), f["item"].to_numpy(np.int64))
                 for d, f in split.train.items()}
        return cls(domains=data.domains, target=split.target, num_users=data.num_users,
                   num_items={d: data.num_items(d) for d in data.domains}, edges=edges,
                   device=torch.device(device))
