"""The yardsticks every comparison reports, trained by the same code as cdgraph's models.

* ``"pop"``: :class:`Popularity`, items ranked by their target-domain train count;
* ``"bprmf"``: matrix factorisation with BPR (Rendle et al., UAI 2009) on the target only;
* ``"lightgcn-target"``: LightGCN (He et al., SIGIR 2020) on the target domain only;
* ``"lightgcn-joint"``: LightGCN on the joint graph, shared users bridging the domains,
  BPR on every domain with equal weight, one embedding per user.

The graph ones are :class:`~cdgraph.models.graph.GraphRecommender` configurations, so they
share the trainer, the sampling and the evaluation, and the default depth and size (4
layers, 64 dimensions) unless given others.
"""
from __future__ import annotations

from typing import Any, Iterator

import numpy as np
import torch
from torch import Tensor

from cdgraph.data.interactions import CrossDomainData
from cdgraph.data.split import Split
from cdgraph.io.model_file import MODEL_FILES
from cdgraph.models.base import Recommender
from cdgraph.models.graph import GraphRecommender
from cdgraph.models.registry import register_model
from cdgraph.train.config import TrainConfig


@register_model("pop")
class Popularity(Recommender):
    """Recommend the target items with the most training interactions, to everyone.

    It learns nothing by gradient: ``fit`` counts, whatever the training options say.
    """

    file_kind = "popularity"

    def __init__(self, target: str) -> None:
        self.target = target
        self.counts_: Tensor | None = None

    def phases(self, split: Split, config: TrainConfig) -> Iterator[Any]:
        items = split.train[self.target]["item"].to_numpy(np.int64)
        self.counts_ = torch.from_numpy(
            np.bincount(items, minlength=split.data.num_items(self.target)).astype(np.float32))
        self._remember(split)
        return iter(())

    def score_users(self, users: Tensor) -> Tensor:
        return self.counts_.unsqueeze(0).expand(users.numel(), -1)

    def score_pairs(self, users: Tensor, items: Tensor) -> Tensor:
        return self.counts_[items.clamp(min=0)]

    def get_state(self) -> dict[str, Any]:
        return {"counts": self.counts_}

    @classmethod
    def from_state(cls, state: dict[str, Any], data: CrossDomainData, target: str,
                   device: str = "cpu") -> "Popularity":
        model = cls(target)
        model.counts_ = state["counts"]
        model.data_ = data
        model._seen = data.interactions(target)[["user", "item"]]
        return model


MODEL_FILES.add(Popularity.file_kind, Popularity)


def _single_domain(target: str, layers: int, **options: Any) -> GraphRecommender:
    encoder_options = {"graph": "target", "views": "joint", **options.pop("encoder_options", {})}
    return GraphRecommender(target, **{"encoder": "lightgcn", "fusion": "target", "source_weight": 0.0,
                                       "layers": layers, **options, "encoder_options": encoder_options})


@register_model("bprmf")
def bprmf(target: str, **options: Any) -> GraphRecommender:
    """BPR matrix factorisation on the target domain alone (Rendle et al., UAI 2009): a
    LightGCN without propagation layers."""
    return _single_domain(target, **{**options, "layers": 0})


@register_model("lightgcn-target")
def lightgcn_target(target: str, **options: Any) -> GraphRecommender:
    """LightGCN (He et al., SIGIR 2020) on the target domain's graph alone."""
    return _single_domain(target, options.pop("layers", 4), **options)


@register_model("lightgcn-joint")
def lightgcn_joint(target: str, **options: Any) -> GraphRecommender:
    """LightGCN on the joint graph, every domain's BPR loss with weight 1."""
    encoder_options = {"graph": "joint", "views": "joint", **options.pop("encoder_options", {})}
    return GraphRecommender(target, **{"encoder": "lightgcn", "fusion": "target", "source_weight": 1.0,
                                       **options, "encoder_options": encoder_options})
