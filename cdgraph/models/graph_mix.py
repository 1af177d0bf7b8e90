"""cdgraph's best model: the joint graph, mixed with a target-only graph for warm users and a
personalised bridge for users new to the target."""
from __future__ import annotations

import logging
import math
from dataclasses import replace
from typing import Any, Callable, Iterator, Sequence

import numpy as np
import torch
from torch import Tensor

from cdgraph.data.split import Split
from cdgraph.graph.content import unit_rows
from cdgraph.models.baselines import lightgcn_target
from cdgraph.models.content import mean_profiles
from cdgraph.models.factors import FactorRecommender, active
from cdgraph.models.graph import GraphRecommender
from cdgraph.models.ptupcdr import PTUPCDR
from cdgraph.models.registry import register_model
from cdgraph.nn.base import SCORERS
from cdgraph.nn.scorers import DotScorer
from cdgraph.train.config import TrainConfig
from cdgraph.train.phases import Fit, Search

log = logging.getLogger(__name__)

#: training options that belong to the graph model alone: the other parts train without them
GRAPH_ONLY = {"source_weight": None, "neighbors": None, "cold_simulation": 0.0}
#: what the bridge may map between: the graph model's factors or its own per-domain ones
BRIDGE_FACTORS = ("separate", "graph")
#: how items without training interactions are scored: by content alone, or as the graph model does
NEW_ITEMS = ("content", None)


@register_model("cdgraph")
class GraphMix(FactorRecommender):
    r"""The joint-graph recommender, mixed per user with a target-only LightGCN (users with
    target history) or a PTUPCDR bridge (users new to the target).

    Why: on ``benchmarks/results/grid`` the joint graph
    (:class:`~cdgraph.models.graph.GraphRecommender`: a user's embedding gathers both domains,
    propagated through the users they share) won most tasks but not all, and each time a
    model of another kind won, it erred on different users:

    * warm users (target training interactions): LightGCN on the target graph alone
      (He et al., SIGIR 2020; the ``lightgcn-target`` baseline) keeps the target's own
      signal undiluted by the source;
    * cold users (source interactions, none in the target): PTUPCDR's personalised
      bridge over per-domain LightGCN factors (:class:`PTUPCDR`, Zhu et al., WSDM 2022).

    The score of target item :math:`i` for user :math:`u` is

    .. math::
        s(u, i) = (1 - w_u)\, z_G(u, i) + w_u\, z_X(u, i), \qquad
        (w_u, X) = \begin{cases} (\gamma, T) & u \text{ warm} \\
                                 (\beta, B) & u \text{ cold} \\
                                 (0, -) & \text{otherwise,} \end{cases}

    with :math:`z_G, z_T, z_B` the graph model's, the target-only model's and the bridge's
    scores standardised over the target's items for that user, :math:`z(u, i) = (u^\top i -
    u^\top \mu) / \sqrt{u^\top \Sigma u}`, :math:`\mu, \Sigma` the mean and covariance of the
    item factors (closed form: no user-by-item matrix is built). Per user this ranks as the
    inner product of user factors :math:`[(1-w_u)\, u_G / \sigma_G(u),\ \beta\,[u\ \text{cold}]\,
    u_B / \sigma_B(u),\ \gamma\,[u\ \text{warm}]\, u_T / \sigma_T(u)]` with item factors
    :math:`[i_G - \mu_G,\ i_B - \mu_B,\ i_T - \mu_T]`, which is how it is stored and scored.

    **New items.** When the graph model uses item content, a target item without any training
    interaction is scored from its content alone, as content-kNN
    (:class:`~cdgraph.models.content.ContentKNN`) scores it: the cosine of its content vector
    :math:`\tilde c_i` with the user's profile :math:`p_u`, the mean content of the user's
    training items in every domain, standardised over the target's items like the other parts
    (:math:`z_C`); trained items keep the score above. On ``benchmarks/results/content.md``
    (``new-items``: each held-out new item ranked among the other new items) the graph model's
    own scores of new items, from the projection of their content alone, ranked them far worse
    than content-kNN. ``new_items=None`` keeps them.

    :math:`\beta` and :math:`\gamma` are chosen among ``weights`` by validation
    ``valid_metric`` (ties go to the smaller weight; 0 is the graph model alone). The
    metric is a mean over users and each weight touches only its own users, so choosing
    :math:`\beta` with :math:`\gamma = 0`, then :math:`\gamma`, finds the best pair. A part
    is trained only when at least ``min_part_share`` of the validation users need it: on a
    split whose held-out users are all warm (leave-one-out) there is no bridge, on one whose
    held-out users are all cold (cold-start) no target-only model. Below that share its
    weight would be chosen on a handful of users (with none, every weight ties and 0 wins)
    while the part costs as much to train as for many: on the ``cold_items`` splits of
    Arts and Office (``benchmarks/results/content.md``) one to five validation users in ten
    thousand were cold, and the bridge trained for them ended at weight 0 on every run.
    Those users get the graph model alone.

    Args:
        target (str): The target domain.
        weights (sequence of float): Candidate mixing weights, each in ``[0, 1]``.
            (default: ``(0, 0.2, 0.35, 0.5, 0.65, 0.8, 1)``)
        bridge_factors (str): The factors the bridge maps between: ``"separate"``, per-domain
            LightGCN factors trained for the bridge alone (:class:`PTUPCDR` as published), or
            ``"graph"``, the graph model's own (its joint user embeddings and both domains'
            item embeddings: only the bridge network trains, no factor model). ``"graph"``
            saves the two factor fits, about half the bridge's time, but on
            ``benchmarks/results/bridge.md`` it ranked worse: the separate factors add a view
            the graph model lacks. (default: ``"separate"``)
        new_items (str or None): ``"content"``: items without training interactions are scored
            by content alone (above), when the graph model has item content; None: by the
            graph model. (default: ``"content"``)
        new_item_weight (float): Scale of :math:`z_C` against the trained items' scores. It does
            not change how new items rank among themselves, only how far they rise among trained
            ones: at 1, new items filled 89 % of the top-10 lists on Arts, 42 % on Office and
            48 % on Food (``new-items`` runs, ``new in top-10`` in ``content.md``), where they
            are a fifth of the catalogue; lower it to show fewer. (default: 1.0)
        probe (float, optional): Whether, and for how long, a part is tried on validation
            before it trains in full; a part whose best weight is 0 in the try is dropped.
            The target-only part trains this share of its epochs, then either stops or its
            run continues to the end. The bridge is first tried over the graph model's own
            factors (``bridge_factors="graph"``, a fraction of the separate bridge's cost);
            when that earns a weight, the bridge of ``bridge_factors`` trains. On
            ``benchmarks/results/grid`` the target-only part's weight was 0 on every seed of
            Sport→Cloth and Cloth→Sport, the bridge's on the cold-start Sport↔Cloth seeds that
            recorded it, while each cost about half a joint-graph fit or more (the ratios of
            ``benchmarks/results/cost-ends-eighth/cost.md``, measured before the probes, less
            the graph model's 1.125). None trains every part in full. (default: ``0.25``)
        min_part_share (float): The share of validation users that must need a part (cold
            users the bridge, warm users the target-only model) for it to be trained; 0
            trains it when any validation user needs it. Without validation interactions a
            part is trained when a test user needs it. (default: ``0.01``)
        bridge_options (dict, optional): :class:`PTUPCDR` arguments. (default:
            ``{"layers": 4, "source_epochs": "target"}``: LightGCN factors when
            ``bridge_factors="separate"``, the source's trained as many epochs as the target's
            ran before stopping early: ``benchmarks/results/cost.md`` against
            ``cost-ends-eighth/``, seed 0, test MRR 0.0741 → 0.0734 on Game→Video, within the
            grid's std of 0.0031, and 0.0505 → 0.0548 on Video→Game)
        target_only_options (dict, optional): Arguments of the target-only LightGCN.
            (default: the graph model's ``dim``, ``layers``, ``content``, ``text_encoder``
            and ``text_options``)
        **options: :class:`~cdgraph.models.graph.GraphRecommender` arguments of the graph
            model (its scorer must be ``"dot"``). ``content`` defaults to ``"auto"``: item
            features, when the data has them, enter the graph model and the target-only one
            (on data without item features nothing changes); ``content=None`` is id-only.

    Attributes (after ``fit``):
        graph_ (GraphRecommender): The fitted graph model.
        bridge_ (PTUPCDR or None): The fitted bridge; None when no held-out user was cold.
        target_only_ (GraphRecommender or None): The fitted target-only LightGCN; None
            when no held-out user was warm.
        beta_ (float): The bridge's weight for cold users.
        gamma_ (float): The target-only model's weight for warm users.
        new_items_ (int): How many target items were scored by content alone.
        valid_scores_ (dict[str, dict[float, float]]): Validation ``valid_metric`` of each
            candidate ``"beta"`` and ``"gamma"`` tried.
    """

    def __init__(self, target: str, weights: Sequence[float] = (0.0, 0.2, 0.35, 0.5, 0.65, 0.8, 1.0),
                 bridge_factors: str = "separate", min_part_share: float = 0.01, new_items: str | None = "content",
                 new_item_weight: float = 1.0, probe: float | None = 0.25,
                 bridge_options: dict[str, Any] | None = None,
                 target_only_options: dict[str, Any] | None = None, **options: Any) -> None:
        weights = tuple(float(w) for w in weights)
        if not weights or any(not 0.0 <= w <= 1.0 for w in weights):
            raise ValueError(f"weights must be in [0, 1], got {weights!r}.")
        if bridge_factors not in BRIDGE_FACTORS:
            raise ValueError(f"bridge_factors must be one of {BRIDGE_FACTORS}, got {bridge_factors!r}.")
        if new_items not in NEW_ITEMS:
            raise ValueError(f"new_items must be one of {NEW_ITEMS}, got {new_items!r}.")
        if not float(new_item_weight) > 0:
            raise ValueError(f"new_item_weight must be positive, got {new_item_weight!r}.")
        self.new_items, self.new_item_weight = new_items, float(new_item_weight)
        if probe is not None and not 0.0 < float(probe) <= 1.0:
            raise ValueError(f"probe must be None or in (0, 1], got {probe!r}.")
        self.probe = None if probe is None else float(probe)
        if not 0.0 <= float(min_part_share) <= 1.0:
            raise ValueError(f"min_part_share must be in [0, 1], got {min_part_share!r}.")
        self.target, self.weights, self.bridge_factors = target, weights, bridge_factors
        self.min_part_share = float(min_part_share)
        self.bridge_options = {"layers": 4, "source_epochs": "target", **(bridge_options or {})}
        options = {"content": "auto", **options}
        content = {k: options[k] for k in ("content", "text_encoder", "text_options") if k in options}
        self.target_only_options = {"dim": options.get("dim", 64), "layers": options.get("layers", 4),
                                    **content, **(target_only_options or {})}
        self.options = options
        graph = GraphRecommender(target, **options)  # its options checked now, before any data
        if not scores_by_inner_product(graph.scorer):
            raise ValueError(f"GraphMix mixes inner-product scores; the graph model's scorer must be "
                             f"'dot', got {graph.scorer!r}.")
        PTUPCDR(target, **self.bridge_options)
        lightgcn_target(target, **self.target_only_options)
        self.users_: Tensor | None = None
        self.items_: Tensor | None = None
        self.graph_: GraphRecommender | None = None
        self.bridge_: PTUPCDR | None = None
        self.target_only_: GraphRecommender | None = None

    def option_names(self) -> set[str]:
        """Its own options and the graph model's."""
        return super().option_names() | GraphRecommender(self.target).option_names()

    @property
    def history_(self):
        """The graph model's training history."""
        return None if self.graph_ is None else self.graph_.history_

    @property
    def source_weight_(self) -> float | None:
        return None if self.graph_ is None else self.graph_.source_weight_

    def phases(self, split: Split, config: TrainConfig) -> Iterator[Any]:
        """The graph model, then the parts the held-out users need (trained with the same
        options less the graph model's own: ``source_weight``, ``neighbors``,
        ``cold_simulation``; each first tried, see ``probe``, and kept only when it then adds
        to the graph model on validation), then their weights on validation."""
        graph = GraphRecommender(self.target, **self.options)
        self.graph_, self.bridge_, self.target_only_ = graph, None, None
        yield Fit("graph", graph, split)
        self.beta_, self.gamma_, self.valid_scores_ = 0.0, 0.0, {}
        self._remember(split)
        warm = active(split, split.target)
        cold = active(split, split.sources) & ~warm
        raw = tuple(t.detach().cpu() for t in graph.final())
        parts, masks = [_standardised(*raw)], []
        # one validator for the probes and the final weights: its sampled negatives are drawn once
        check = (self._validator(split, config.valid_metric, config.valid_protocol, config.valid_negatives,
                                 config.seed) if len(split.valid) else None)
        if self._needed(cold, split) and (yield from self._bridge(split, config, graph, parts, cold, check)):
            bridge = self.bridge_
            parts.append(_standardised(bridge.users_.detach().cpu(), bridge.items_.detach().cpu()))
            masks.append(("beta", cold))
        if self._needed(warm, split):
            self.target_only_ = lightgcn_target(self.target, **self.target_only_options)
            kept = yield from self._target_only(split, config, parts, masks, warm, check)
            if kept:
                parts.append(_standardised(*(t.detach().cpu() for t in self.target_only_.final())))
                masks.append(("gamma", warm))
            else:
                self.target_only_ = None
        self.new_items_ = 0
        if not masks:  # no held-out user needs another part: exactly the graph model
            self.users_, self.items_ = raw
            self._score_new_items_by_content(split, graph, alone=True)
            return
        chosen = self._choose(config, parts, masks, check)
        self.beta_, self.gamma_ = chosen.get("beta", 0.0), chosen.get("gamma", 0.0)
        self._score_new_items_by_content(split, graph)

    def _choose(self, config: TrainConfig, parts: list[tuple[Tensor, Tensor]],
                masks: list[tuple[str, np.ndarray]], check: Callable[[], dict[str, float]] | None,
                key: str = "") -> dict[str, float]:
        """Each part's weight among ``weights`` by validation (``check``), in turn (the others'
        fixed at their chosen values); leaves ``users_``/``items_`` as the chosen mix and records
        the scores in ``valid_scores_`` (under ``key`` + the weight's name). Without validation
        (``check`` None) every weight is 0.5."""
        self.items_ = torch.cat([i for _, i in parts], 1)
        chosen = {name: 0.0 for name, _ in masks}
        mix = _mixer([u for u, _ in parts], [torch.from_numpy(m).float()[:, None] for _, m in masks])
        if check is None:
            log.warning("GraphMix needs validation interactions to choose its weights; using 0.5.")
            self.users_ = mix([0.5] * len(chosen))
            return {name: 0.5 for name in chosen}
        for name in chosen:
            scores = self.valid_scores_[key + name] = {}
            for w in self.weights:
                self.users_ = mix([chosen[n] if n != name else w for n in chosen])
                scores[w] = float(check()[config.valid_metric])
            chosen[name] = max(scores, key=lambda w: (scores[w], -w))
        log.info("GraphMix weights on validation %s: %s -> %s", config.valid_metric,
                 {k: v for k, v in self.valid_scores_.items() if k.startswith(key)}, chosen)
        self.users_ = mix(list(chosen.values()))
        return chosen

    def _bridge(self, split: Split, config: TrainConfig, graph: GraphRecommender,
                parts: list[tuple[Tensor, Tensor]], cold: np.ndarray,
                check: Callable[[], dict[str, float]] | None) -> Iterator[Any]:
        """Phases of the bridge; returns whether it is kept (then ``bridge_``). With ``probe``, a
        bridge over the graph model's own factors (``bridge_factors="graph"``: only its network
        trains, no factor model) is tried on validation first. When its best weight is 0, no
        bridge trains further; otherwise the bridge of ``bridge_factors`` trains (the probe
        itself when that is ``"graph"``)."""
        dim = parts[0][0].shape[1]
        on_graph = _GraphBridge(self.target, graph, dim=dim, **self.bridge_options)
        separate = self.bridge_factors == "separate"
        if self.probe is not None and check is not None:
            yield Fit("bridge/probe" if separate else "bridge", on_graph, split, GRAPH_ONLY)
            probed = _standardised(on_graph.users_.detach().cpu(), on_graph.items_.detach().cpu())
            if self._choose(config, parts + [probed], [("beta", cold)], check, key="probe/")["beta"] == 0.0:
                log.info("GraphMix: a bridge over the graph model's factors added nothing on validation; "
                         "no bridge.")
                return False
            if not separate:
                self.bridge_ = on_graph
                return True
        self.bridge_ = PTUPCDR(self.target, dim=dim, **self.bridge_options) if separate else on_graph
        yield Fit("bridge", self.bridge_, split, GRAPH_ONLY)
        return True

    def _target_only(self, split: Split, config: TrainConfig, parts: list[tuple[Tensor, Tensor]],
                     masks: list[tuple[str, np.ndarray]], warm: np.ndarray,
                     check: Callable[[], dict[str, float]] | None) -> Iterator[Any]:
        """Phases of the target-only part; returns whether it is kept. With ``probe``, its run
        stops after that share of the epochs for a look at the mix on validation: a part whose
        best weight is then 0 is dropped (it would not pay for the rest of its training); else
        the same run continues to the end."""
        part, config = self.target_only_, replace(config, **GRAPH_ONLY)
        short = None if self.probe is None else max(1, math.ceil(config.epochs * self.probe))
        if short is None or short >= config.epochs or check is None:
            yield Fit("target-only", part, split, GRAPH_ONLY)
            return True
        weight = part.source_weight
        found = yield Search("target-only/probe", [weight], lambda w: part.loop(split, config, w),
                             epochs=short, validate_at_end=True)
        loop = part.loop(split, config, weight)
        loop.name = "target-only"
        if found.state is not None:
            part.network_.load_state_dict(found.state["network"])  # the probe's weights (also when resumed)
            part.invalidate()
            probed = _standardised(*(t.detach().cpu() for t in part.final()))
            tried = self._choose(config, parts + [probed], masks + [("gamma", warm)], check, key="probe/")
            if tried["gamma"] == 0.0:
                log.info("GraphMix: the target-only part trained %d of %d epochs added nothing on "
                         "validation; dropped.", short, config.epochs)
                return False
            loop.start = found.state
        result = yield loop
        part.source_weight_, part.train_config_ = float(weight), config
        part.histories_ = {"train": result.history}
        part.invalidate()
        return True

    def _score_new_items_by_content(self, split: Split, graph: GraphRecommender, alone: bool = False) -> None:
        """Replace the scores of the target items without training interactions by the
        standardised content part :math:`z_C` (a last pair of factor blocks: zero for the other
        items, whose own blocks are zeroed for these). ``alone``: the factors are the graph
        model's raw ones, standardised first (the same ranking per user, on the scale of
        :math:`z_C`)."""
        content = graph.ctx_.content if graph.ctx_ is not None else None
        new = np.ones(split.data.num_items(self.target), bool)
        new[split.train[self.target]["item"].to_numpy()] = False
        if self.new_items is None or content is None or not new.any():
            return
        if alone:
            self.users_, self.items_ = _standardised(self.users_, self.items_)
        vectors = {d: x.detach().cpu().numpy() for d, x in content.items()}
        profiles = torch.from_numpy(unit_rows({"u": mean_profiles(split, vectors)})["u"])
        users, items = _standardised(profiles, torch.from_numpy(vectors[self.target]))
        mask = torch.from_numpy(new)[:, None]
        self.users_ = torch.cat([self.users_, self.new_item_weight * users], 1)
        self.items_ = torch.cat([self.items_.masked_fill(mask, 0.0), items.masked_fill(~mask, 0.0)], 1)
        self.new_items_ = int(new.sum())
        log.info("GraphMix: %d %r items without training interactions scored by content.", self.new_items_,
                 self.target)

    def _needed(self, users: np.ndarray, split: Split) -> bool:
        """Whether enough held-out users are among ``users`` (a mask) to train their part:
        ``min_part_share`` of the validation users, or, without validation, any test user."""
        if not len(split.valid):
            return bool(users[split.test["user"].to_numpy()].any())
        share = float(users[split.valid["user"].to_numpy()].mean())
        return share > 0 and share >= self.min_part_share


class _GraphBridge(PTUPCDR):
    """PTUPCDR's bridge over a fitted graph model's factors: the source factors of a user are
    its graph embedding (on the joint graph one embedding gathers both domains), the item
    factors the graph model's item embeddings of each domain. Nothing but the bridge trains."""

    def __init__(self, target: str, graph: GraphRecommender, **options: Any) -> None:
        super().__init__(target, **options)
        self._graph = graph

    def domain_factors(self, split: Split, source: str) -> Iterator[Any]:
        network, ctx = self._graph.network_, self._graph.ctx_
        network.eval()
        with torch.no_grad():
            encoded = network.encoder(ctx)
        return (self._graph.final()[0].detach(), encoded.items[self.target].detach(),
                encoded.users[source].detach(), encoded.items[source].detach())
        yield  # a generator without phases: the factors are the graph model's


def scores_by_inner_product(scorer: Any) -> bool:
    """Whether ``scorer`` (a registered name, a class or an object) is :class:`DotScorer`,
    whose scores GraphMix can mix."""
    scorer = SCORERS.get(scorer) if isinstance(scorer, str) else scorer
    return scorer is DotScorer or isinstance(scorer, DotScorer)


def _mixer(users: list[Tensor], masks: list[Tensor]) -> Callable[[list[float]], Tensor]:
    """``mix(weights)``: user factors ``[(1 - w_u) u_G, w_1 m_1 u_1, ...]`` (masks are disjoint)."""
    def mix(weights: list[float]) -> Tensor:
        ws = [w * m for w, m in zip(weights, masks)]
        return torch.cat([(1 - sum(ws, torch.zeros(1))) * users[0]] + [w * u for w, u in zip(ws, users[1:])], 1)
    return mix


def _standardised(users: Tensor, items: Tensor) -> tuple[Tensor, Tensor]:
    """Factors whose inner products are each user's scores standardised over the items."""
    centred = items - items.mean(0)
    cov = centred.t() @ centred / max(1, len(items) - 1)
    scale = ((users @ cov) * users).sum(1).clamp(min=1e-12).sqrt()
    return users / scale[:, None], centred
