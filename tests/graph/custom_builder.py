"""A user's own graph builder, defined and registered outside cdgraph."""
from __future__ import annotations

from torch_geometric.data import HeteroData

from cdgraph.graph import GraphBuilder, register_builder


@register_builder("liked-only", overwrite=True)
class LikedOnlyBuilder(GraphBuilder):
    """User-item graph keeping only interactions rated at least ``threshold``.

    Args:
        threshold (float): Lowest rating kept. (default: ``4.0``)
    """

    def __init__(self, threshold: float = 4.0) -> None:
        self.threshold = threshold

    def build(self, split_or_data) -> HeteroData:
        graph = self.empty_graph(split_or_data)
        for domain, frame in self.frames(split_or_data).items():
            self.add_interactions(graph, domain, frame[frame["rating"] >= self.threshold],
                                  rel="likes")
        return graph
