"""PTUPCDR: personalised transfer of user preferences (Zhu et al., WSDM 2022)."""
from __future__ import annotations

import copy
import logging
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from cdgraph.data.positives import PositiveSet
from cdgraph.data.split import Split, order_within_users, seeded_rng
from cdgraph.train.loop import check_options
from cdgraph.models.emcdr import EMCDR
from cdgraph.models.factors import FactorRecommender, active

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


class PTUPCDR(FactorRecommender):
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

    The paper trains the bridge without regularisation. Fitting the shared users'
    interactions alone, the ``k*k``-output meta network overfits them within a few
    epochs and transfers worse than EMCDR's single mapping; the defaults
    ``meta_lr=0.001, meta_l2=0.01`` were chosen on validation MRR of the cold users
    of Amazon Game->Video (``amazon-coldstart-game-video``, target ``video``), for MF
    and LightGCN factors alike (no test data looked at).

    Attributes (after ``fit``):
        meta_loss_ (list[float]): Mean BPR loss of each meta epoch.
        meta_history_ (DataFrame): Per meta epoch: ``loss`` and, when validated,
            ``valid/<metric>``.
        meta_epoch_ (int): The meta epoch whose weights were kept (from 1).
        bridge_ (nn.Module): The trained encoder and meta network.
        source_ (str): The source domain used.
    """

    def __init__(self, target: str, source: str | None = None, dim: int = 64, layers: int = 0,
                 hidden: int | None = None, meta_dim: int = 50, history: int = 50,
                 meta_epochs: int = 20, meta_lr: float = 0.001, meta_batch_size: int = 512,
                 meta_l2: float = 0.01) -> None:
        check_options("PTUPCDR", dim=dim, layers=layers, hidden=hidden, meta_dim=meta_dim, history=history,
                      meta_epochs=meta_epochs, meta_lr=meta_lr, meta_batch_size=meta_batch_size,
                      meta_l2=meta_l2)
        self.target, self.source = target, source
        self.dim, self.layers = dim, layers
        self.hidden, self.meta_dim, self.history = hidden, meta_dim, history
        self.meta_epochs, self.meta_lr, self.meta_batch_size = meta_epochs, meta_lr, meta_batch_size
        self.meta_l2 = meta_l2
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
        mask = idx >= 0
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

    # -------------------------------------------------------------------- fit
    def fit(self, split: Split, epochs: int = 30, lr: float = 0.01, batch_size: int = 8192,
            seed: int = 0, patience: int | None = 10, progress: bool | None = None,
            meta_epochs: int | None = None, meta_lr: float | None = None,
            meta_batch_size: int | None = None, **options: Any) -> "PTUPCDR":
        """Learn both domains' factors, then the bridge; other options go to the factor models' fit.

        ``epochs``, ``lr``, ``batch_size``, ``patience``, ``progress`` and ``options``
        (``valid_metric``, ``valid_protocol``, ``num_negatives``, ``l2``, ...) configure the
        factor models as in :meth:`cdgraph.CrossDomainRecommender.fit`; ``meta_epochs``,
        ``meta_lr`` and ``meta_batch_size`` override the constructor's for this fit.
        ``patience`` also stops the meta training after that many meta epochs without a
        better validation ``valid_metric``.
        """
        check_options("PTUPCDR.fit", epochs=epochs, lr=lr, batch_size=batch_size, patience=patience)
        if split.target != self.target:
            raise ValueError(f"This model recommends {self.target!r}; "
                             f"the split's target is {split.target!r}.")
        sources = split.sources if self.source is None else [split.data.check_domain(self.source)]
        if self.source is not None and sources[0] == self.target:
            raise ValueError(f"The source domain must differ from the target {self.target!r}.")
        if len(sources) != 1:
            raise ValueError(f"PTUPCDR transfers from one source domain; pick one of {sources} with source=.")
        source = sources[0]
        meta_epochs = self.meta_epochs if meta_epochs is None else meta_epochs
        meta_lr = self.meta_lr if meta_lr is None else meta_lr
        meta_batch_size = self.meta_batch_size if meta_batch_size is None else meta_batch_size
        check_options("PTUPCDR.fit", meta_epochs=meta_epochs, meta_lr=meta_lr, meta_batch_size=meta_batch_size)
        fit = dict(epochs=epochs, lr=lr, batch_size=batch_size, seed=seed, patience=patience,
                   progress=progress, **options)
        factors = EMCDR(self.target, dim=self.dim, layers=self.layers)
        target_users, items = factors._domain_factors(split, self.target, fit)
        source_users, source_items = factors._domain_factors(split, source, fit)
        self._target_users, self.items_ = target_users.detach(), items.detach()
        self._source_users, self._source_items = source_users.detach(), source_items.detach()
        self._hist = self._histories(split, source, seed)

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
        positives = PositiveSet(t_user, train["item"].to_numpy(np.int64), split.data.num_items(self.target))
        candidates = torch.from_numpy(np.unique(train["item"].to_numpy(np.int64)))

        torch.manual_seed(seed)
        gen = torch.Generator().manual_seed(seed)
        bridge = _Bridge(self.dim, self.hidden or self.dim, self.meta_dim)
        optim = torch.optim.Adam(bridge.parameters(), lr=meta_lr, weight_decay=self.meta_l2)
        self.source_ = source
        self._remember(split)
        if len(split.valid) and patience is not None:
            metric = options.get("valid_metric", "NDCG@10")
            check = self._validator(split, metric, options.get("valid_protocol"),
                                    options.get("num_negatives"), seed)
            valid_users = torch.from_numpy(np.unique(split.valid["user"].to_numpy(np.int64)))

            def validate() -> float:
                self.users_ = self._bridged(bridge, valid_users)
                return float(check()[metric])
        else:
            validate = None

        history, best, best_state, best_epoch, waited = [], -np.inf, None, meta_epochs, 0
        for epoch in range(1, meta_epochs + 1):
            bridge.train()
            order = torch.randperm(len(pos_u), generator=gen)
            total = 0.0
            for s in range(0, len(order), meta_batch_size):
                b = order[s:s + meta_batch_size]
                u, i = pos_u[b], pos_i[b]
                j = positives.sample_negatives(u, gen, candidates=candidates).squeeze(1)
                ut = self._transfer(bridge, u)
                loss = -F.logsigmoid((ut * (self.items_[i] - self.items_[j])).sum(-1)).mean()
                optim.zero_grad()
                loss.backward()
                optim.step()
                total += float(loss.detach()) * len(b)
            row = {"epoch": epoch, "loss": total / len(order)}
            if validate is not None:
                bridge.eval()
                row[f"valid/{metric}"] = score = validate()
                if score > best:
                    best, best_epoch, waited = score, epoch, 0
                    best_state = copy.deepcopy(bridge.state_dict())
                else:
                    waited += 1
            history.append(row)
            if progress:
                log.info("PTUPCDR meta epoch %d: %s", epoch, row)
            if validate is not None and waited >= patience:
                break
        if best_state is not None:
            bridge.load_state_dict(best_state)
        bridge.eval()
        self.meta_history_ = pd.DataFrame(history).set_index("epoch")
        self.meta_loss_ = [r["loss"] for r in history]
        self.meta_epoch_ = best_epoch if best_state is not None else len(history)
        self.bridge_ = bridge
        self.users_ = self._bridged(bridge)
        return self

    # -------------------------------------------------------------- inspect
    def attention(self, users: Tensor) -> tuple[Tensor, Tensor]:
        """Source items (index space, ``-1`` pads) and their attention weights for ``users``
        (each row sums to 1 over a user's history, 0 for a user without one)."""
        self._check_fitted()
        if self.bridge_ is None:
            raise RuntimeError("PTUPCDR is not fitted yet: call fit(split) first.")
        users = torch.as_tensor(users, dtype=torch.long)
        idx = self._hist[users]
        mask = idx >= 0
        with torch.no_grad():
            return idx, self.bridge_.attention(self._source_items[idx.clamp(min=0)], mask)
