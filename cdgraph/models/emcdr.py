"""EMCDR: embedding and mapping for cold-start users (Man et al., IJCAI 2017)."""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn

from cdgraph.models.graph import CrossDomainRecommender
from cdgraph.data.split import Split
from cdgraph.train.loop import check_options
from cdgraph.models.factors import FactorRecommender, active


class EMCDR(FactorRecommender):
    r"""Embedding and Mapping for Cross-Domain Recommendation (Man et al., IJCAI 2017).

    Three stages, as in the paper:

    1. latent factors of each domain, learned separately (here BPR matrix
       factorisation when ``layers=0``, as the paper's MF variant, or LightGCN);
    2. a mapping :math:`f` from a shared user's source factors to its target factors,
       learned on the users active in both domains:
       :math:`\min_f \sum_{u \in \mathcal{U}_{s} \cap \mathcal{U}_{t}} \lVert f(U^s_u) - U^t_u \rVert^2`
       (linear, or an MLP with one hidden layer when ``hidden`` is set);
    3. a user with no target training interaction but a source history gets
       :math:`f(U^s_u)` as target factors; warm users keep their own.

    Args:
        target (str): The target domain.
        source (str, optional): The source domain (default: the other one; required
            with more than two domains).
        dim (int): Factor size. (default: 64)
        layers (int): 0 for matrix factorisation, else LightGCN layers. (default: 0)
        hidden (int, optional): Hidden width of an MLP mapping; linear when None.
        map_epochs (int): Full-batch Adam steps of the mapping. (default: 300)
        map_lr (float): Learning rate of the mapping. (default: 0.01)
    """

    def __init__(self, target: str, source: str | None = None, dim: int = 64, layers: int = 0,
                 hidden: int | None = None, map_epochs: int = 300, map_lr: float = 0.01) -> None:
        check_options("EMCDR", dim=dim, layers=layers, hidden=hidden, map_epochs=map_epochs, map_lr=map_lr)
        self.target, self.source = target, source
        self.dim, self.layers, self.hidden = dim, layers, hidden
        self.map_epochs, self.map_lr = map_epochs, map_lr
        self.users_: Tensor | None = None
        self.items_: Tensor | None = None

    def _domain_factors(self, split: Split, domain: str, fit: dict[str, Any]) -> tuple[Tensor, Tensor]:
        """Users and items of one domain, learned on that domain's train interactions alone."""
        if domain == split.target:
            sub = split
        else:
            empty = pd.DataFrame({"user": np.empty(0, np.int64), "item": np.empty(0, np.int64)})
            sub = Split(split.data, domain, split.train, empty, empty.copy(), kind="source-only")
        model = CrossDomainRecommender(domain, encoder="lightgcn", fusion="target", dim=self.dim,
                                       layers=self.layers, source_weight=0.0,
                                       encoder_options={"graph": "target"})
        model.fit(sub, **{**fit, "patience": fit.get("patience") if len(sub.valid) else None})
        return model._final()

    def fit(self, split: Split, epochs: int = 30, lr: float = 0.01, batch_size: int = 8192,
            seed: int = 0, patience: int | None = 10, progress: bool | None = None,
            **options: Any) -> "EMCDR":
        """Learn both domains' factors, then the mapping; options go to the factor models' fit."""
        check_options("EMCDR.fit", epochs=epochs, lr=lr, batch_size=batch_size, patience=patience)
        if split.target != self.target:
            raise ValueError(f"This model recommends {self.target!r}; the split's target is {split.target!r}.")
        sources = split.sources if self.source is None else [split.data.check_domain(self.source)]
        if len(sources) != 1:
            raise ValueError(f"EMCDR maps one source domain; pick one of {sources} with source=.")
        source = sources[0]
        fit = dict(epochs=epochs, lr=lr, batch_size=batch_size, seed=seed, patience=patience,
                   progress=progress, **options)
        target_users, items = self._domain_factors(split, self.target, fit)
        source_users, _ = self._domain_factors(split, source, fit)
        t_active, s_active = active(split, self.target), active(split, source)
        shared = torch.from_numpy(np.flatnonzero(t_active & s_active))
        if shared.numel() == 0:
            raise ValueError(f"EMCDR needs users active in both {source!r} and {self.target!r} training data.")
        torch.manual_seed(seed)
        mapping = (nn.Linear(self.dim, self.dim) if self.hidden is None else
                   nn.Sequential(nn.Linear(self.dim, self.hidden), nn.Tanh(), nn.Linear(self.hidden, self.dim)))
        optim = torch.optim.Adam(mapping.parameters(), lr=self.map_lr)
        x, y = source_users[shared].detach(), target_users[shared].detach()
        for _ in range(self.map_epochs):
            loss = (mapping(x) - y).pow(2).sum(1).mean()
            optim.zero_grad()
            loss.backward()
            optim.step()
        self.mapping_loss_ = float(loss.detach())
        # what predicting the mean target factors would cost: the mapping must do better
        self.mapping_baseline_ = float((y - y.mean(0)).pow(2).sum(1).mean())
        users = target_users.detach().clone()
        cold = torch.from_numpy(np.flatnonzero(~t_active & s_active))
        with torch.no_grad():
            users[cold] = mapping(source_users[cold].detach())
        self.users_, self.items_ = users, items.detach()
        self.source_ = source
        self._remember(split)
        return self
