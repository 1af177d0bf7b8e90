"""The yardsticks every comparison reports, trained by the same code as cdgraph's models.

* ``"pop"``: :class:`Popularity`, items ranked by their target-domain train count;
* ``"bprmf"``: matrix factorisation with BPR (Rendle et al., UAI 2009) on the target only;
* ``"lightgcn-target"``: LightGCN (He et al., SIGIR 2020) on the target domain only;
* ``"lightgcn-joint"``: LightGCN on the joint graph, shared users bridging the domains,
  BPR on every domain, one embedding per user.

:func:`make` builds one by name; the graph ones are :class:`CrossDomainRecommender`
configurations, so they share the training loop, sampling and evaluation, and the
default model's depth and size (4 layers, 64 dimensions) unless given others. The
joint-graph baseline weighs every domain's loss equally (``source_weight=1``); the
single-domain ones train on the target alone (``source_weight=0``).
"""
from __future__ import annotations

import inspect
from typing import Any, Callable

import numpy as np
import torch
from torch import Tensor

from cdgraph.models.graph import CrossDomainRecommender
from cdgraph.models.base import Recommender
from cdgraph.data.split import Split


#: The keyword options of :meth:`CrossDomainRecommender.fit`, which every method's fit takes.
SHARED_FIT_OPTIONS = frozenset(inspect.signature(CrossDomainRecommender.fit).parameters) - {"self", "split"}


class Popularity(Recommender):
    """Recommend the target items with the most training interactions, to everyone."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.counts_: Tensor | None = None

    def fit(self, split: Split, **options: Any) -> "Popularity":
        """Count the target's training interactions.

        Takes the options of :meth:`CrossDomainRecommender.fit` (``epochs``, ``seed``, ...),
        so that a comparison can fit every model alike, and ignores them: nothing is trained.
        Any other keyword is a ``TypeError``.
        """
        unknown = sorted(set(options) - SHARED_FIT_OPTIONS)
        if unknown:
            raise TypeError(f"Popularity.fit got unknown option(s) {', '.join(unknown)}; it takes (and "
                            f"ignores) those of CrossDomainRecommender.fit: {', '.join(sorted(SHARED_FIT_OPTIONS))}.")
        if split.target != self.target:
            raise ValueError(f"This model recommends {self.target!r}; the split's target is {split.target!r}.")
        items = split.train[self.target]["item"].to_numpy(np.int64)
        self.counts_ = torch.from_numpy(
            np.bincount(items, minlength=split.data.num_items(self.target)).astype(np.float32))
        self._remember(split)
        return self

    def score_users(self, users: Tensor) -> Tensor:
        return self.counts_.unsqueeze(0).expand(users.numel(), -1)

    def score_pairs(self, users: Tensor, items: Tensor) -> Tensor:
        return self.counts_[items.clamp(min=0)]


def _graph(encoder_options: dict, source_weight: float, layers: int | None = None
           ) -> Callable[..., CrossDomainRecommender]:
    def build(target: str, **kwargs: Any) -> CrossDomainRecommender:
        options = {**encoder_options, **kwargs.pop("encoder_options", {})}
        if layers is not None:
            kwargs["layers"] = layers
        kwargs.setdefault("source_weight", source_weight)
        return CrossDomainRecommender(target, encoder="lightgcn", fusion="target",
                                      encoder_options=options, **kwargs)
    return build


def _popularity(target: str, **options: Any) -> Popularity:
    if options:
        raise TypeError(f"The 'pop' baseline takes no options (it ranks items by their train count); "
                        f"got {', '.join(sorted(options))}.")
    return Popularity(target)


BASELINES: dict[str, Callable[..., Recommender]] = {
    "pop": _popularity,
    "bprmf": _graph({"graph": "target", "views": "joint"}, 0.0, layers=0),
    "lightgcn-target": _graph({"graph": "target", "views": "joint"}, 0.0),
    "lightgcn-joint": _graph({"graph": "joint", "views": "joint"}, 1.0),
}

#: Extra fit() options per baseline (kept for callers that pass them; the source
#: weight is now part of each baseline's constructor).
FIT_OPTIONS: dict[str, dict[str, Any]] = {name: {} for name in BASELINES}


def make(name: str, target: str, **kwargs: Any) -> Recommender:
    """Build baseline ``name`` for ``target`` (keyword arguments go to the model)."""
    if name not in BASELINES:
        raise ValueError(f"Unknown baseline {name!r}; available: {sorted(BASELINES)}.")
    return BASELINES[name](target, **kwargs)
