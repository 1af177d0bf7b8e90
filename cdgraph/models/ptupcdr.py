"""PTUPCDR: personalised transfer of user preferences (Zhu et al., WSDM 2022)."""
from __future__ import annotations

import logging
from typing import Any, Iterator

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from cdgraph.data.checks import check_number
from cdgraph.data.pairs import PairIndex
from cdgraph.data.split import Split, order_within_users, seeded_rng
from cdgraph.models.factors import active
from cdgraph.models.registry import register_model
from cdgraph.models.transfer import TransferRecommender
from cdgraph.train.config import TrainConfig
from cdgraph.train.phases import Loop

log = logging.getLogger(__name__)


class _Bridge(nn.Module):
    """Characteristic encoder (attention over source items) and meta network (bridge weights)."""

    def __init__(self, dim: int, hidden: int, meta_dim: int) -> None:
        super().__init__()
        self.dim = dim
        self.attend = nn.Sequential(nn.Linear(dim, hidden), nn.ReLU(), nn.Linear(hidden, 1, bias=False))
        self.meta = nn.Sequential(nn.Linear(dim, meta_dim), nn.ReLU(), nn.Linear(meta_dim, dim * dim))

    def attention(self, history: Tensor, mask: Tensor) -> Tensor:
        """Softmax of ``h(e_j)`` over each row's unmasked items; an all-masked row gets zeros."""
        logits = self.attend(history).squeeze(-1).masked_fill(~mask, -torch.inf)
        empty = ~mask.any(1, keepdim=True)
        return torch.softmax(logits.masked_fill(empty, 0.0), dim=1).masked_fill(~mask, 0.0)

    def forward(self, source_user: Tensor, history: Tensor, mask: Tensor) -> Tensor:
        """``u_t = W_u u_s`` with ``W_u = reshape(g(sum_j a_j e_j))``.

        Inputs: source user factors ``[n, k]``, history item factors ``[n, L, k]``, mask ``[n, L]``.
        """
        a = self.attention(history, mask)
        p = (a.unsqueeze(-1) * history).sum(1)
        w = self.meta(p).view(-1, self.dim, self.dim)
        return torch.bmm(w, source_user.unsqueeze(-1)).squeeze(-1)


class PTUPCDR(TransferRecommender):
    r"""Personalized Transfer of User Preferences for Cross-domain Recommendation
    (Zhu, Tang, Liu, Zhuang, Xie, He, WSDM 2022, doi:10.1145/3488560.3498392).

    EMCDR (:class:`~cdgraph.models.EMCDR`) learns one mapping shared by all users;
    PTUPCDR generates a *personalised* bridge for each user from the user's source
    history, and trains it on the target-domain task itself:

    1. latent factors of each domain, learned separately, as EMCDR does (BPR matrix
       factorisation when ``layers=0``, the paper's MF, or LightGCN when ``layers > 0``);
       the factors are then frozen;
    2. a characteristic encoder summarises user :math:`u`'s source items
       :math:`\mathcal{S}_u` (their source item factors :math:`e_j`) by attention,
       :math:`a_j = \operatorname{softmax}_{j \in \mathcal{S}_u} h(e_j)` with
       :math:`h` a two-layer MLP (ReLU, width ``hidden``) and
       :math:`p_u = \sum_{j \in \mathcal{S}_u} a_j e_j`;
    3. a meta network :math:`g` (two-layer MLP, ReLU, width ``meta_dim``) turns
       :math:`p_u` into the user's bridge :math:`W_u = \operatorname{reshape}(g(p_u))
       \in \mathbb{R}^{k \times k}`;
    4. the transferred target factors are :math:`u_t = W_u\, u_s`, with :math:`u_s`
       the user's source factors;
    5. task-oriented meta training on the users active in both domains' training
       data: :math:`h` and :math:`g` minimise the error of :math:`u_t` on the users'
       target-domain interactions (not the distance of :math:`u_t` to the pre-trained
       target factors, as EMCDR does). The paper regresses explicit ratings,
       :math:`\sum (r_{uv} - u_t^\top v)^2`; the data here are implicit, so the loss is
       BPR, :math:`-\log \sigma(u_t^\top v_i - u_t^\top v_j)`, over the target train
       interactions :math:`(u, i)` of those users with a negative :math:`j` drawn
       uniformly per step among the target's train items that are not :math:`u`'s
       positives, scored with the frozen pre-trained target item factors :math:`v`.

    At inference a user with no target training interaction but a source history gets
    :math:`u_t` as target factors; warm users keep their own (as in EMCDR).

    A user's source history is a padded ``[users, L]`` table with a mask (all users at
    once, no Python loop over users), capped at ``history`` items to bound memory: the
    most recent ones when the source domain has a time column, else a seeded random
    subset. When the split has validation interactions and ``patience`` is set, each
    meta epoch is validated (``valid_metric`` on the held-out users, the protocol of
    the factor models) and the best epoch's weights are kept; this selection, like
    every hyper-parameter choice, looks only at validation.

    Args:
        target (str): The target domain.
        source (str, optional): The source domain (default: the other one; required
            with more than two domains).
        dim (int): Factor size :math:`k`. (default: 64)
        layers (int): 0 for matrix factorisation, else LightGCN layers. (default: 0)
        hidden (int, optional): Hidden width of the attention MLP :math:`h`. (default: ``dim``)
        meta_dim (int): Hidden width of the meta network :math:`g`. (default: 50)
        history (int): Most source items per user fed to the encoder. (default: 50)
        meta_epochs (int): Passes over the shared users' target train interactions. (default: 20)
        meta_lr (float): Adam learning rate of :math:`h` and :math:`g`. (default: 0.001)
        meta_batch_size (int): Interactions per meta step. (default: 512)
        meta_l2 (float): Adam weight decay of :math:`h` and :math:`g`. (default: 0.01)
        source_epochs (int or str, optional): Epochs of the source factors, which have no
            validation to stop them early: None, the fit's ``epochs`` (as published); an int;
            or ``"target"``, as many as the target factors trained before they stopped early.
            (default: None)

    The paper trains the bridge without regularisation. Fitting the shared users'
    interactions alone, the ``k*k``-output meta network overfits them within a few
    epochs and transfers worse than EMCDR's single mapping; the defaults
    ``meta_lr=0.001, meta_l2=0.01`` were chosen on validation MRR of the cold users
    of Amazon Game->Video (``amazon-coldstart-game-video``, target ``video``), for MF
    and LightGCN factors alike (no test data looked at).

    Attributes (after ``fit``):
        meta_history_ (DataFrame): Per meta epoch: ``loss`` and, when validated,
            ``valid/<metric>``.
        meta_epoch_ (int): The meta epoch whose weights were kept (from 1).
        bridge_ (nn.Module): The trained encoder and meta network.
        source_ (str): The source domain used.
    """

    def __init__(self, target: str, source: str | None = None, dim: int = 64, layers: int = 0,
                 hidden: int | None = None, meta_dim: int = 50, history: int = 50,
                 meta_epochs: int = 20, meta_lr: float = 0.001, meta_batch_size: int = 512,
                 meta_l2: float = 0.01, source_epochs: int | str | None = None) -> None:
        if not (source_epochs in (None, "target") or (isinstance(source_epochs, int) and source_epochs > 0)):
            raise ValueError(f"PTUPCDR's source_epochs must be None, 'target' or a positive int, "
                             f"got {source_epochs!r}.")
        for name, value in (("dim", dim), ("meta_dim", meta_dim), ("history", history),
                            ("meta_epochs", meta_epochs), ("meta_batch_size", meta_batch_size)):
            check_number("PTUPCDR", name, value, integer=True, positive=True)
        check_number("PTUPCDR", "layers", layers, integer=True)
        check_number("PTUPCDR", "hidden", hidden, integer=True, positive=True, allowed=(None,))
        check_number("PTUPCDR", "meta_lr", meta_lr, positive=True)
        check_number("PTUPCDR", "meta_l2", meta_l2)
        self.target, self.source = target, source
        self.dim, self.layers = dim, layers
        self.hidden, self.meta_dim, self.history = hidden, meta_dim, history
        self.meta_epochs, self.meta_lr, self.meta_batch_size = meta_epochs, meta_lr, meta_batch_size
        self.meta_l2, self.source_epochs = meta_l2, source_epochs
        self.users_: Tensor | None = None
        self.items_: Tensor | None = None
        self.bridge_: _Bridge | None = None

    # ----------------------------------------------------------------- pieces
    def _histories(self, split: Split, source: str, seed: int) -> Tensor:
        """``[num_users, L]`` source item indices per user, ``-1`` padded; at most ``history``
        items (the latest by time when there is a time column, else a seeded random pick)."""
        frame = split.train[source]
        users = frame["user"].to_numpy(np.int64)
        items = frame["item"].to_numpy(np.int64)
        time = frame["time"].to_numpy() if "time" in frame else None
        from_end, count = order_within_users(users, seeded_rng(seed), time)
        keep = from_end < self.history
        width = max(1, int(min(self.history, count.max() if len(count) else 1)))
        table = torch.full((split.data.num_users, width), -1, dtype=torch.long)
        table[torch.from_numpy(users[keep]), torch.from_numpy(from_end[keep])] = torch.from_numpy(items[keep])
        return table

    def _transfer(self, bridge: _Bridge, users: Tensor) -> Tensor:
        """Bridged target factors of ``users``."""
        idx = self._hist[users]
        mask = (idx >= 0).to(self._source_users.device)
        return bridge(self._source_users[users], self._source_items[idx.clamp(min=0)], mask)

    def _bridged(self, bridge: _Bridge, only: Tensor | None = None, chunk: int = 4096) -> Tensor:
        """All users' target factors: own ones for warm users, bridged ones for cold users
        (only the cold users among ``only`` when given)."""
        users = self._target_users.clone()
        cold = self._cold if only is None else self._cold[torch.isin(self._cold, only)]
        with torch.no_grad():
            for s in range(0, len(cold), chunk):
                part = cold[s:s + chunk]
                users[part] = self._transfer(bridge, part)
        return users

    # ----------------------------------------------------------------- phases
    def phases(self, split: Split, config: TrainConfig) -> Iterator[Any]:
        """Both domains' factors (trained with the fit's options), then the bridge (its own
        ``meta_epochs``, ``meta_lr``, ``meta_batch_size`` and ``meta_l2``; ``patience`` also
        stops it after that many meta epochs without a better validation ``valid_metric``)."""
        source = self.source_domain(split)
        target_users, items, source_users, source_items = yield from self.domain_factors(split, source)
        self._target_users, self.items_ = target_users, items
        self._source_users, self._source_items = source_users, source_items
        self._hist = self._histories(split, source, config.seed)

        train = split.train[self.target]
        t_user = train["user"].to_numpy(np.int64)
        t_active, s_active = active(split, self.target), active(split, source)
        rows = np.flatnonzero((t_active & s_active)[t_user])
        if len(rows) == 0:
            raise ValueError(f"PTUPCDR needs users active in both {source!r} and {self.target!r} "
                             f"training data.")
        self._cold = torch.from_numpy(np.flatnonzero(~t_active & s_active))
        pos_u = torch.from_numpy(t_user[rows])
        pos_i = torch.from_numpy(train["item"].to_numpy(np.int64)[rows])
        positives = PairIndex(t_user, train["item"].to_numpy(np.int64), split.data.num_items(self.target))
        candidates = torch.from_numpy(np.unique(train["item"].to_numpy(np.int64)))

        torch.manual_seed(config.seed)
        bridge = _Bridge(self.dim, self.hidden or self.dim, self.meta_dim)
        self.source_ = source
        self._remember(split)
        validate = None
        if len(split.valid) and config.patience is not None:
            check = self._validator(split, config.valid_metric, config.valid_protocol,
                                    config.valid_negatives, config.seed)
            valid_users = torch.from_numpy(np.unique(split.valid["user"].to_numpy(np.int64)))

            def bridged_validation() -> dict[str, float]:
                self.users_ = self._bridged(bridge, valid_users)
                return check()
            validate = bridged_validation

        def steps(gen: torch.Generator) -> Iterator[tuple[Tensor, Tensor, Tensor]]:
            order = torch.randperm(len(pos_u), generator=gen)
            for s in range(0, len(order), self.meta_batch_size):
                b = order[s:s + self.meta_batch_size]
                u = pos_u[b]
                yield u, pos_i[b], positives.sample_negatives(u, gen, candidates=candidates).squeeze(1)

        def loss(module: nn.Module, batch: tuple[Tensor, Tensor, Tensor]) -> dict[str, Tensor]:
            u, i, j = batch
            ut = self._transfer(module, u)
            return {"bpr": -F.logsigmoid((ut * (self.items_[i] - self.items_[j])).sum(-1)).mean()}

        fitted = yield Loop("train", bridge, steps, loss, validate, epochs=self.meta_epochs, lr=self.meta_lr,
                            weight_decay=self.meta_l2, eval_every=1)
        self.meta_epoch_ = fitted.best_epoch or len(fitted.history)
        self.bridge_ = bridge
        self.users_ = self._bridged(bridge)

    @property
    def meta_history_(self):
        """Per meta epoch (the index): ``loss`` and, when validated, ``valid/<metric>``."""
        return None if self.history_ is None else self.history_.set_index("epoch")

    # -------------------------------------------------------------- inspect
    def attention(self, users: Tensor) -> tuple[Tensor, Tensor]:
        """Source items (index space, ``-1`` pads) and their attention weights for ``users``
        (each row sums to 1 over a user's history, 0 for a user without one)."""
        self._check_fitted()
        if self.bridge_ is None:
            raise RuntimeError("PTUPCDR is not fitted yet: call fit(split) first.")
        users = torch.as_tensor(users, dtype=torch.long)
        idx = self._hist[users]
        mask = (idx >= 0).to(self._source_users.device)
        with torch.no_grad():
            return idx, self.bridge_.attention(self._source_items[idx.clamp(min=0)], mask)


@register_model("ptupcdr")
def ptupcdr(target: str, **options: Any) -> PTUPCDR:
    """PTUPCDR on BPR-MF factors (the paper's setting)."""
    return PTUPCDR(target, **options)


@register_model("ptupcdr-lightgcn")
def ptupcdr_lightgcn(target: str, **options: Any) -> PTUPCDR:
    """PTUPCDR on 4-layer LightGCN factors learned per domain."""
    return PTUPCDR(target, **{"layers": 4, **options})
