"""Mini-batch training: node-wise neighbour sampling over the joint user-item graph.

Full-batch LightGCN propagates every node at every step. When the graph is too large
for that (see :func:`cdgraph.train.memory.estimate_full_batch`), a step can instead
propagate over a sampled subgraph around the batch's users and items, as GraphSAGE
does (Hamilton et al., NeurIPS 2017): hop ``l`` keeps every neighbour of a node with
at most ``fanouts[l]`` of them and draws ``fanouts[l]`` uniformly with replacement
from a node with more. With the weights below, each sampled hop is an unbiased
estimate of one product with the normalised adjacency
:math:`\\tilde A = D^{-1/2} A D^{-1/2}`:

.. math::
    \\hat h_v = \\frac{d_v}{k} \\sum_{j=1}^{k} \\frac{h_{u_j}}{\\sqrt{d_v d_{u_j}}}
    \\quad (u_j \\sim \\mathcal{U}(N(v))), \\qquad
    \\hat h_v = \\sum_{u \\in N(v)} \\frac{h_u}{\\sqrt{d_v d_u}} \\quad (d_v \\le k).

Degrees are those of the full training graph, so a mini-batch model is the same
LightGCN as a full-batch one and is evaluated with full propagation.

PyG's ``NeighborLoader`` / ``LinkNeighborLoader`` need pyg-lib or torch-sparse for
their sampling kernel; the sampler here uses only torch operations (no Python loop
over nodes or edges), so it runs wherever torch does. It returns layer-wise CSR
blocks (nested node sets, the batch's nodes first) rather than a ``HeteroData``,
because the propagation is a sparse-dense product on each block.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from cdgraph.graph.propagation import SpMM


@dataclass
class SampledGraph:
    """The sampled subgraph of one step.

    Attributes:
        nodes (Tensor): Global ids (users, then each domain's items at its offset) of
            the deepest node set; the sets of earlier hops are prefixes of it, the
            batch's nodes first.
        blocks (list[tuple[Tensor, Tensor]]): ``blocks[j]`` propagates from node set
            ``j + 1`` to node set ``j`` (CSR, with its transpose for the backward pass).
        num_users (int): Batch users among the first nodes (sorted global ids).
        items (dict[str, tuple[int, int]]): Per domain, the ``[start, end)`` positions
            of the batch's items of that domain among the first nodes.
        batch (dict[str, tuple[Tensor, Tensor, Tensor]]): The step's batch in local
            positions: users index ``[0, num_users)``, items index within their domain's
            ``items`` span.
    """

    nodes: Tensor
    blocks: list[tuple[Tensor, Tensor]]
    num_users: int
    items: dict[str, tuple[int, int]]
    batch: dict[str, tuple[Tensor, Tensor, Tensor]]

    @property
    def num_seeds(self) -> int:
        return self.blocks[0][0].size(0) if self.blocks else self.nodes.numel()

    def propagate(self, h: Tensor, block: int) -> Tensor:
        """``blocks[block] @ h`` with autograd through the precomputed transpose."""
        a, a_t = self.blocks[block]
        return SpMM.apply(a, a_t, h)


class NeighborSampler:
    """Sample the neighbourhoods of a batch's users and items, hop by hop.

    Args:
        edges (dict[str, tuple[ndarray, ndarray]]): Train ``(users, items)`` per domain
            of the graph propagated (the domains an encoder uses).
        num_users (int): Users in the shared index.
        num_items (dict[str, int]): Items per domain.
        fanouts (list[int]): Neighbours kept per node at each hop (one per layer).
        device (torch.device): Where the blocks are built.
    """

    def __init__(self, edges: dict[str, tuple[np.ndarray, np.ndarray]], num_users: int,
                 num_items: dict[str, int], fanouts: list[int], device: torch.device | str = "cpu") -> None:
        if not fanouts or any(int(k) < 1 for k in fanouts):
            raise ValueError(f"neighbors must be a list of positive integers (one per layer), got {fanouts!r}.")
        self.fanouts = [int(k) for k in fanouts]
        self.device = torch.device(device)
        self.offsets, start = {}, num_users
        for d in edges:
            self.offsets[d] = start
            start += num_items[d]
        self.num_nodes = start
        rows = np.concatenate([np.concatenate([u, i + self.offsets[d]]) for d, (u, i) in edges.items()])
        cols = np.concatenate([np.concatenate([i + self.offsets[d], u]) for d, (u, i) in edges.items()])
        order = np.argsort(rows, kind="stable")
        counts = np.bincount(rows, minlength=self.num_nodes)
        rowptr = np.zeros(self.num_nodes + 1, np.int64)
        np.cumsum(counts, out=rowptr[1:])
        self.rowptr = torch.from_numpy(rowptr).to(self.device)
        self.col = torch.from_numpy(cols[order].astype(np.int64)).to(self.device)
        self.degree = torch.from_numpy(counts).to(self.device)
        self._local = torch.full((self.num_nodes,), -1, dtype=torch.long, device=self.device)

    def _neighbors(self, frontier: Tensor, k: int, gen: torch.Generator | None
                   ) -> tuple[Tensor, Tensor, Tensor]:
        """Edges ``(dst position in frontier, neighbour global id, weight)``, grouped by dst."""
        deg = self.degree[frontier]
        take = deg.clamp(max=k)
        dst = torch.repeat_interleave(torch.arange(frontier.numel(), device=self.device), take)
        first = torch.cumsum(take, 0) - take
        within = torch.arange(dst.numel(), device=self.device) - first[dst]
        d_dst = deg[dst]
        sampled = d_dst > k
        draw = (torch.rand(dst.numel(), generator=gen).to(self.device) * d_dst).long()
        offset = torch.where(sampled, torch.minimum(draw, d_dst - 1), within)
        nbr = self.col[self.rowptr[frontier][dst] + offset]
        weight = (d_dst.double() * self.degree[nbr].double()).rsqrt()
        weight = torch.where(sampled, weight * d_dst / k, weight)
        return dst, nbr, weight.float()

    def sample(self, batch: dict[str, tuple[Tensor, Tensor, Tensor]],
               generator: torch.Generator | None = None) -> SampledGraph:
        """Sample around ``batch[d] = (users, positives, negatives)`` (index space)."""
        users = torch.unique(torch.cat([part[0] for part in batch.values()]).to(self.device))
        items = {d: torch.unique(torch.cat([part[1], part[2]]).to(self.device))
                 for d, part in batch.items() if d in self.offsets}
        seeds = torch.cat([users] + [items[d] + self.offsets[d] for d in items])
        spans, at = {}, users.numel()
        for d in items:
            spans[d] = (at, at + items[d].numel())
            at += items[d].numel()
        local_batch = {}
        for d, (u, p, n) in batch.items():
            if d not in items:
                continue
            local_batch[d] = (torch.searchsorted(users, u.to(self.device)),
                              torch.searchsorted(items[d], p.to(self.device)),
                              torch.searchsorted(items[d], n.to(self.device)))
        local = self._local
        nodes, frontier = seeds, seeds
        local[seeds] = torch.arange(seeds.numel(), device=self.device)
        rows, cols, vals, blocks = [], [], [], []
        frontier_start = 0
        try:
            for k in self.fanouts:
                dst, nbr, weight = self._neighbors(frontier, k, generator)
                found = torch.unique(nbr)
                new = found[local[found] < 0]
                local[new] = torch.arange(nodes.numel(), nodes.numel() + new.numel(), device=self.device)
                rows.append(dst + frontier_start)
                cols.append(local[nbr])
                vals.append(weight)
                frontier_start = nodes.numel()
                nodes = torch.cat([nodes, new])
                frontier = new
                blocks.append(_block(torch.cat(rows), torch.cat(cols), torch.cat(vals),
                                     (frontier_start, nodes.numel())))
        finally:
            local[nodes] = -1
        return SampledGraph(nodes, blocks, users.numel(), spans, local_batch)


def _block(rows: Tensor, cols: Tensor, vals: Tensor, shape: tuple[int, int]) -> tuple[Tensor, Tensor]:
    """CSR of ``(rows, cols, vals)`` (rows already sorted) and of its transpose."""
    with warnings.catch_warnings():  # "CSR support is in beta": we rely on spmm only
        warnings.simplefilter("ignore", UserWarning)
        crow = torch.zeros(shape[0] + 1, dtype=torch.long, device=rows.device)
        crow[1:] = torch.cumsum(torch.bincount(rows, minlength=shape[0]), 0)
        a = torch.sparse_csr_tensor(crow, cols, vals, size=shape, check_invariants=False)
        order = torch.argsort(cols, stable=True)
        crow_t = torch.zeros(shape[1] + 1, dtype=torch.long, device=rows.device)
        crow_t[1:] = torch.cumsum(torch.bincount(cols, minlength=shape[1]), 0)
        a_t = torch.sparse_csr_tensor(crow_t, rows[order], vals[order], size=(shape[1], shape[0]),
                                      check_invariants=False)
    return a, a_t
