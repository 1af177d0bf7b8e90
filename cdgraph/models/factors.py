"""Recommenders that score by the inner product of fitted user and item factor tables."""
from __future__ import annotations

import os
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from cdgraph.data.interactions import CrossDomainData
from cdgraph.io.model_file import ids_in, ids_out, write_model_file
from cdgraph.nn.scorers import dot_candidates
from cdgraph.models.base import Recommender

#: 2: the checksum covers the whole file; 1 (still read): only the tables and interactions.
FACTORS_FORMAT = 2


class FactorRecommender(Recommender):
    """Scores by inner product of fitted ``users_`` and target ``items_`` factor tables.

    :meth:`save` writes the tables with the id maps and the target's training
    interactions; :func:`cdgraph.load_model` reads them back as a :class:`FactorRecommender`
    that evaluates and recommends as the fitted model did (the method's training state,
    e.g. PTUPCDR's bridge network, is not kept).
    """

    users_: Tensor | None
    items_: Tensor | None

    def score_users(self, users: Tensor) -> Tensor:
        return self.users_[users] @ self.items_.t()

    def score_pairs(self, users: Tensor, items: Tensor) -> Tensor:
        return dot_candidates(self.users_[users], self.items_, items.clamp(min=0))

    def save(self, path: str | os.PathLike) -> None:
        """Save the factor tables, id maps and seen interactions (atomic write; the file holds
        only tensors, strings and dicts, read with ``torch.load(weights_only=True)``)."""
        self._check_fitted()
        data = self.data_
        state = {"format": FACTORS_FORMAT, "kind": "FactorRecommender", "method": type(self).__name__,
                 "target": self.target, "domains": data.domains, "name": data.name,
                 "user_ids": ids_out(data.user_ids),
                 "item_ids": {d: ids_out(data.item_ids[d]) for d in data.domains},
                 "state_dict": {"users": self.users_.detach().cpu().contiguous(),
                                "items": self.items_.detach().cpu().contiguous()},
                 "edges": {self.target: torch.from_numpy(self._seen[["user", "item"]].to_numpy(np.int64).T.copy())}}
        write_model_file(state, path)


def active(split, domains) -> np.ndarray:
    """Boolean mask over users: those with a training interaction in any of ``domains``."""
    mask = np.zeros(split.data.num_users, bool)
    for domain in [domains] if isinstance(domains, str) else domains:
        mask[split.train[domain]["user"].to_numpy()] = True
    return mask


def load_factors(state: dict[str, Any]) -> FactorRecommender:
    """The :class:`FactorRecommender` of a ``FactorRecommender.save`` state that
    :func:`cdgraph.load_model` has checked (format and checksum)."""
    target = state["target"]
    user_ids = ids_in(state["user_ids"], "user")
    item_ids = {d: ids_in(state["item_ids"][d], "item") for d in state["domains"]}
    seen = state["edges"][target]
    frames = {d: pd.DataFrame({"user": np.empty(0, np.int64), "item": np.empty(0, np.int64)})
              for d in state["domains"]}
    frames[target] = pd.DataFrame({"user": seen[0].numpy(), "item": seen[1].numpy()})
    model = FactorRecommender()
    model.target = target
    model.method_ = state.get("method")
    model.users_, model.items_ = state["state_dict"]["users"], state["state_dict"]["items"]
    model.data_ = CrossDomainData(frames, user_ids, item_ids, name=state.get("name"))
    model._seen = frames[target]
    return model
