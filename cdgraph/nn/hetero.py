"""PyG ``HeteroConv`` encoders (GraphSAGE, GAT) for graphs that carry node features."""
from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn
from torch_geometric.nn import GATConv, HeteroConv, SAGEConv

from cdgraph.nn.base import Encoded, Encoder, GraphContext, init_table, register_encoder


class _HeteroEncoder(Encoder):
    r"""Message passing with one PyG convolution per edge type (``HeteroConv``).

    Node inputs are learnable embeddings, plus a linear projection of node features
    when the graph carries them (``features={"user": X_u, "<domain>": X_d}``, tensors
    with one row per node). Layer outputs keep the relations apart (``aggr=None``),
    so a user's view of domain :math:`d` is what the user receives from :math:`d`'s
    items, plus the user's own input; items receive from users.

    Args:
        dim (int): Embedding size. (default: 64)
        layers (int): Convolution layers. (default: 2)
        features (dict[str, Tensor], optional): Node features per node type.
        dropout (float): Dropout between layers. (default: 0.0)
    """

    def __init__(self, dim: int = 64, layers: int = 2, features: dict[str, Tensor] | None = None,
                 dropout: float = 0.0) -> None:
        super().__init__(dim, layers)
        self.features = features or {}
        self.dropout = dropout

    def conv(self, src: str, dst: str) -> nn.Module:  # pragma: no cover - subclasses
        raise NotImplementedError

    def setup(self, ctx: GraphContext) -> None:
        self.domains = list(ctx.domains)
        sizes = {"user": ctx.num_users, **ctx.num_items}
        self.emb = nn.ParameterDict({t: init_table(n, self.dim) for t, n in sizes.items()})
        self.proj = nn.ModuleDict()
        for t, x in self.features.items():
            if t not in sizes or x.size(0) != sizes[t]:
                raise ValueError(f"features[{t!r}] must have one row per {t} node ({sizes.get(t)}), "
                                 f"got shape {tuple(x.shape)}.")
            self.proj[t] = nn.Linear(x.size(1), self.dim)
            self.register_buffer(f"feat_{t}", x.float(), persistent=False)
        self.edge_index = {}
        for d in self.domains:
            u, i = ctx.edges[d]
            ei = torch.from_numpy(np.stack([u, i]).astype(np.int64)).to(ctx.device)
            self.edge_index[("user", "interacts", d)] = ei
            self.edge_index[(d, "rev_interacts", "user")] = ei.flip(0)
        self.convs = nn.ModuleList(
            HeteroConv({et: self.conv(et[0], et[2]) for et in self.edge_index}, aggr=None)
            for _ in range(self.layers))
        self.rel_order = [et for et in self.edge_index if et[2] == "user"]

    def inputs(self) -> dict[str, Tensor]:
        x = {t: e for t, e in self.emb.items()}
        for t, lin in self.proj.items():
            x[t] = x[t] + lin(getattr(self, f"feat_{t}"))
        return x

    def forward(self, ctx: GraphContext) -> Encoded:
        x = self.inputs()
        views = {d: x["user"] for d in self.domains}
        for k, conv in enumerate(self.convs):
            out = conv(x, self.edge_index)
            user_rel = out["user"]  # [U, R, dim], relations in insertion order
            per_domain = {et[0]: user_rel[:, j] for j, et in enumerate(self.rel_order)}
            new = {t: out[t].sum(1) for t in out if t != "user"}
            new["user"] = user_rel.sum(1)
            views = {d: views[d] + per_domain[d] for d in self.domains}
            if k < len(self.convs) - 1:
                new = {t: nn.functional.dropout(torch.relu(v), self.dropout, self.training)
                       for t, v in new.items()}
            x = {t: new.get(t, x[t]) for t in x}
        items = {d: x[d] for d in self.domains}
        return Encoded(views, items, {d: self.emb["user"] for d in self.domains},
                       {d: self.emb[d] for d in self.domains})


@register_encoder("sage")
class SAGEEncoder(_HeteroEncoder):
    """GraphSAGE (Hamilton et al., NeurIPS 2017) per edge type, through PyG ``HeteroConv``."""

    def conv(self, src: str, dst: str) -> nn.Module:
        return SAGEConv((-1, -1), self.dim)


@register_encoder("gat")
class GATEncoder(_HeteroEncoder):
    """GAT (Veličković et al., ICLR 2018) per edge type, through PyG ``HeteroConv``."""

    def conv(self, src: str, dst: str) -> nn.Module:
        return GATConv((-1, -1), self.dim, heads=1, add_self_loops=False)
