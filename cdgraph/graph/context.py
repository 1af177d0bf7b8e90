"""The training graph as the models see it: :class:`GraphContext`.

A context holds what every encoder needs about a split's training graph: the domains,
the target, the sizes, each domain's training edges, the items' content vectors and
content-bridge edges when a model uses item content (:mod:`cdgraph.graph.content`), and the
normalised adjacency blocks (:mod:`cdgraph.graph.propagation`) built from them once and cached.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor

from cdgraph.data.split import Split
from cdgraph.graph.propagation import Block, item_degrees, item_item_blocks, normalized_blocks


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
        content (dict[str, Tensor], optional): Item content vectors per domain, float32
            ``[num_items[d], width]`` with unit rows (zero rows: no content); None for an
            id-only graph.
        item_edges (dict[tuple[str, str], tuple[ndarray, ndarray]]): Item-item edges
            ``(items of a, items of b)`` per pair of domains (the content bridge), each
            undirected edge once; they join the joint graph (:meth:`blocks` with
            ``joint=True`` counts them in the item degrees, :meth:`item_blocks` holds them).
    """

    domains: list[str]
    target: str
    num_users: int
    num_items: dict[str, int]
    edges: dict[str, tuple[np.ndarray, np.ndarray]]
    device: torch.device = torch.device("cpu")
    content: dict[str, Tensor] | None = field(default=None, repr=False)
    item_edges: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = field(default_factory=dict, repr=False)
    blocks_cache: dict[Any, Any] = field(default_factory=dict, repr=False)

    @property
    def sources(self) -> list[str]:
        return [d for d in self.domains if d != self.target]

    def blocks(self, joint: bool = True) -> dict[str, Block]:
        """Normalised adjacency blocks (cached), see :func:`normalized_blocks`."""
        if joint not in self.blocks_cache:
            extra = self._item_degrees()[1] if joint and self.item_edges else None
            blocks = normalized_blocks(self.edges, self.num_users, self.num_items, joint=joint, item_extra=extra)
            self.blocks_cache[joint] = {d: b.to(self.device) for d, b in blocks.items()}
        return self.blocks_cache[joint]

    def item_blocks(self) -> dict[tuple[str, str], Block]:
        """Normalised item-item blocks of :attr:`item_edges` (cached; empty without them), see
        :func:`~cdgraph.graph.propagation.item_item_blocks`; their normalisation matches
        ``blocks(joint=True)``."""
        if "items" not in self.blocks_cache:
            users, extra = self._item_degrees()
            degree = {d: users[d] + extra[d] for d in self.num_items}
            blocks = item_item_blocks(self.item_edges, degree, self.num_items)
            self.blocks_cache["items"] = {k: b.to(self.device) for k, b in blocks.items()}
        return self.blocks_cache["items"]

    def item_masks(self, domain: str) -> tuple[Tensor, Tensor]:
        """Bool ``[num_items[domain]]`` masks (cached): items with a training user edge, and
        items with no edge at all in the joint graph (isolated: neither users nor item-item edges)."""
        key = ("masks", domain)
        if key not in self.blocks_cache:
            users, extra = self._item_degrees()
            self.blocks_cache[key] = (torch.from_numpy(users[domain] > 0).to(self.device),
                                      torch.from_numpy(users[domain] + extra[domain] == 0).to(self.device))
        return self.blocks_cache[key]

    def _item_degrees(self) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        if "degrees" not in self.blocks_cache:
            self.blocks_cache["degrees"] = item_degrees(self.edges, self.item_edges, self.num_items)
        return self.blocks_cache["degrees"]

    def user_degree(self, domain: str) -> Tensor:
        u = self.edges[domain][0]
        return torch.from_numpy(np.bincount(u, minlength=self.num_users)).to(self.device)

    @classmethod
    def from_split(cls, split: Split, device: torch.device | str = "cpu",
                   content: dict[str, np.ndarray] | None = None,
                   item_edges: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] | None = None
                   ) -> "GraphContext":
        """The context of a split's training graph, with item ``content`` (unit rows per domain)
        and content-bridge ``item_edges`` when given."""
        data = split.data
        edges = {d: (f["user"].to_numpy(np.int64), f["item"].to_numpy(np.int64))
                 for d, f in split.train.items()}
        device = torch.device(device)
        vectors = None
        if content is not None:
            vectors = {d: torch.as_tensor(np.asarray(content[d], dtype=np.float32)).to(device)
                       for d in data.domains}
            for d in data.domains:
                if vectors[d].dim() != 2 or vectors[d].size(0) != data.num_items(d):
                    raise ValueError(f"Content of domain {d!r} has shape {tuple(vectors[d].shape)}; it "
                                     f"needs one row per item ({data.num_items(d)}).")
        pairs = {key: (np.asarray(a, np.int64), np.asarray(b, np.int64))
                 for key, (a, b, *_) in (item_edges or {}).items()}
        return cls(domains=data.domains, target=split.target, num_users=data.num_users,
                   num_items={d: data.num_items(d) for d in data.domains}, edges=edges,
                   device=device, content=vectors, item_edges=pairs)
