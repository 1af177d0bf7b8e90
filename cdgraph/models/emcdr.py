"""EMCDR: embedding and mapping for cold-start users (Man et al., IJCAI 2017)."""
from __future__ import annotations

from typing import Any, Iterator

import numpy as np
import torch
from torch import Tensor, nn

from cdgraph.data.checks import check_number
from cdgraph.data.split import Split
from cdgraph.models.factors import active
from cdgraph.models.registry import register_model
from cdgraph.train.config import TrainConfig
from cdgraph.train.phases import Loop
from cdgraph.models.transfer import TransferRecommender


class EMCDR(TransferRecommender):
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

    The factor models train with the fit's options (epochs, lr, batch size, validation
    on the target); the mapping with its own ``map_epochs`` and ``map_lr``.
    """

    def __init__(self, target: str, source: str | None = None, dim: int = 64, layers: int = 0,
                 hidden: int | None = None, map_epochs: int = 300, map_lr: float = 0.01) -> None:
        for name, value in (("dim", dim), ("map_epochs", map_epochs)):
            check_number("EMCDR", name, value, integer=True, positive=True)
        check_number("EMCDR", "layers", layers, integer=True)
        check_number("EMCDR", "hidden", hidden, integer=True, positive=True, allowed=(None,))
        check_number("EMCDR", "map_lr", map_lr, positive=True)
        self.target, self.source = target, source
        self.dim, self.layers, self.hidden = dim, layers, hidden
        self.map_epochs, self.map_lr = map_epochs, map_lr

    def phases(self, split: Split, config: TrainConfig) -> Iterator[Any]:
        """Both domains' factors, then the mapping (full-batch Adam, ``map_epochs`` steps)."""
        source = self.source_domain(split)
        target_users, items, source_users, _ = yield from self.domain_factors(split, source)
        t_active, s_active = active(split, self.target), active(split, source)
        shared = torch.from_numpy(np.flatnonzero(t_active & s_active))
        if shared.numel() == 0:
            raise ValueError(f"EMCDR needs users active in both {source!r} and {self.target!r} training data.")
        torch.manual_seed(config.seed)
        mapping = (nn.Linear(self.dim, self.dim) if self.hidden is None else
                   nn.Sequential(nn.Linear(self.dim, self.hidden), nn.Tanh(), nn.Linear(self.hidden, self.dim)))
        x, y = source_users[shared], target_users[shared]

        def loss(module: nn.Module, batch: Any) -> dict[str, Tensor]:
            return {"mapping": (module(x) - y).pow(2).sum(1).mean()}

        fitted = yield Loop("train", mapping, steps=lambda gen: [None], loss=loss, epochs=self.map_epochs,
                            lr=self.map_lr, patience=None, checkpoint=False)
        self.mapping_loss_ = float(fitted.history["loss"].iloc[-1]) if len(fitted.history) else float("nan")
        # what predicting the mean target factors would cost: the mapping must do better
        self.mapping_baseline_ = float((y - y.mean(0)).pow(2).sum(1).mean())
        users = target_users.clone()
        cold = torch.from_numpy(np.flatnonzero(~t_active & s_active))
        with torch.no_grad():
            users[cold] = mapping(source_users[cold])
        self.users_, self.items_ = users, items
        self.source_ = source
        self._remember(split)


@register_model("emcdr")
def emcdr(target: str, **options: Any) -> EMCDR:
    """EMCDR on BPR-MF factors (the paper's MF variant)."""
    return EMCDR(target, **options)


@register_model("emcdr-lightgcn")
def emcdr_lightgcn(target: str, **options: Any) -> EMCDR:
    """EMCDR on 4-layer LightGCN factors learned per domain."""
    return EMCDR(target, **{"layers": 4, **options})
