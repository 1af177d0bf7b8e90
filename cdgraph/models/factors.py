"""Recommenders that score by the inner product of fitted user and item factor tables."""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from torch import Tensor

from cdgraph.data.interactions import CrossDomainData
from cdgraph.data.split import Split
from cdgraph.io.model_file import MODEL_FILES
from cdgraph.models.base import Recommender
from cdgraph.nn.scorers import dot_candidates


class FactorRecommender(Recommender):
    """Scores by inner product of fitted ``users_`` and target ``items_`` factor tables.

    Its file holds the two tables; :func:`cdgraph.load_model` reads them back as a
    :class:`FactorRecommender` that evaluates and recommends as the fitted model did (the
    method's training state, e.g. PTUPCDR's bridge network, is not kept).
    """

    file_kind = "factors"
    users_: Tensor | None = None
    items_: Tensor | None = None

    def score_users(self, users: Tensor) -> Tensor:
        return self.users_[users.to(self.users_.device)] @ self.items_.t()

    def score_pairs(self, users: Tensor, items: Tensor) -> Tensor:
        return dot_candidates(self.users_[users.to(self.users_.device)], self.items_,
                              items.to(self.items_.device).clamp(min=0))

    def user_vectors(self, users: Tensor) -> Tensor:
        """User factors (what the item factors are multiplied with)."""
        return self.users_[users.to(self.users_.device)]

    def embeddings(self) -> dict[str, pd.DataFrame]:
        """User and target item factor tables, indexed by raw id (their inner products are the scores)."""
        self._check_fitted()
        data = self.data_
        return {"user": pd.DataFrame(self.users_.detach().cpu().numpy(), index=data.user_ids),
                self.target: pd.DataFrame(self.items_.detach().cpu().numpy(), index=data.item_ids[self.target])}

    def get_state(self) -> dict[str, Any]:
        return {"method": type(self).__name__, "users": self.users_.detach().cpu().contiguous(),
                "items": self.items_.detach().cpu().contiguous()}

    @classmethod
    def from_state(cls, state: dict[str, Any], data: CrossDomainData, target: str,
                   device: str = "cpu") -> "FactorRecommender":
        model = FactorRecommender.__new__(FactorRecommender)
        model.target = target
        model.method_ = state["method"]
        model.users_, model.items_ = state["users"].to(device), state["items"].to(device)
        model.data_ = data
        model._seen = data.interactions(model.target)[["user", "item"]]
        return model

    def config(self) -> dict[str, Any]:
        return {"target": self.target} if type(self) is FactorRecommender else super().config()


MODEL_FILES.add(FactorRecommender.file_kind, FactorRecommender)


def active(split: Split, domains: str | list[str]) -> np.ndarray:
    """Boolean mask over users: those with a training interaction in any of ``domains``."""
    mask = np.zeros(split.data.num_users, bool)
    for domain in [domains] if isinstance(domains, str) else domains:
        mask[split.train[domain]["user"].to_numpy()] = True
    return mask
