"""The configurable graph model: :class:`GraphRecommender`, registered as ``"graph"``."""
from __future__ import annotations

import logging
from typing import Any, Iterator

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from cdgraph.data.checks import check_number
from cdgraph.data.interactions import CrossDomainData
from cdgraph.data.split import Split
from cdgraph.graph.content import check_bridge_options, check_content_option, check_text_encoder, graph_content
from cdgraph.graph.context import GraphContext
from cdgraph.graph.sampling import NeighborSampler
from cdgraph.io.model_file import MODEL_FILES, split_of
from cdgraph.models.ann import ItemIndex
from cdgraph.models.base import Recommender
from cdgraph.models.network import Network, check_components, component_list
from cdgraph.models.registry import register_model
from cdgraph.nn.scorers import DotScorer
from cdgraph.train.batches import Batches, hide_target_edges, step_size
from cdgraph.train.config import TrainConfig
from cdgraph.train.distributed import distributed, shard
from cdgraph.train.memory import check_full_batch
from cdgraph.train.phases import Loop, Search

log = logging.getLogger(__name__)


@register_model("graph")
class GraphRecommender(Recommender):
    """Graph-based cross-domain recommender for one target domain, built from components.

    An encoder learns user views and item embeddings on the cross-domain graph, a fusion
    head combines a user's views into one target view, a scorer ranks the target's items,
    and optional alignment losses tie the domain views together. Each component is a
    registered name (see :mod:`cdgraph.nn`), a class or an object. Training is BPR (or
    another of :data:`cdgraph.nn.losses.LOSSES`) on the target domain plus, with weight
    ``source_weight``, on every source domain.

    The defaults are LightGCN on the joint graph (shared users bridging the domains) with
    4 layers and the source weight chosen on validation (``"auto"``); ``cdgraph``, the
    best model (:class:`~cdgraph.models.graph_mix.GraphMix`), builds on this one.

    Example::

        data = cdgraph.datasets.load("amazon-sport-cloth")
        split = cdgraph.data.predefined(data, target="cloth")
        model = GraphRecommender("cloth", encoder="lightgcn", layers=3).fit(split, epochs=30)
        model.evaluate(split, protocol="sampled")     # {"NDCG@10": ..., ...}
        model.recommend([12, 40], k=10)                # raw ids in, raw ids out

    Args:
        target (str): The domain to recommend.
        encoder, fusion, scorer: Component names, classes or objects.
            (defaults: ``"lightgcn"`` on the joint graph, ``"target"``, ``"dot"``)
        alignment: None, one alignment loss or a list (``"contrastive"``,
            ``"adversarial"``, ``"weight-sharing"``, ``"graph-contrastive"``).
        dim (int): Embedding size. (default: 64)
        layers (int): Propagation layers. (default: 4)
        encoder_options, fusion_options, scorer_options, alignment_options (dict):
            Extra keyword arguments for components given by name.
        source_weight (float or "auto"): Weight of the source domains' losses when the
            training options do not set one; ``"auto"`` chooses it on validation among the
            training option ``source_weights``. (default: ``"auto"``)
        content (None, "auto", str or list of str): Item content in the graph: ``"auto"``
            uses every item feature column of the data (none: id-only, as with None), names
            choose columns. Text columns are encoded with ``text_encoder``, numbers and
            vectors used as they are (:func:`cdgraph.graph.content.item_content`); the encoder
            (``lightgcn``) adds their shared projection to the item embeddings. (default: None)
        text_encoder: The text encoder of text columns: a name of
            :data:`cdgraph.text.TEXT_ENCODERS`, a function ``f(list[str]) -> [n, d]`` or a
            :class:`~cdgraph.text.TextEncoder`. (default: ``"wordllama"``)
        text_options (dict, optional): Options of :func:`cdgraph.text.encode` and the encoder
            (``dim``, ``cache_dir``, ``name`` for a function...).
        content_bridge (dict, optional): Cross-domain item-item edges between content nearest
            neighbours (:func:`cdgraph.graph.content.content_bridge`): ``{"k": 10,
            "threshold": 0.5, "mutual": False}``, any of the keys; needs ``content``.
            (default: None)

    Attributes (after ``fit``):
        network_ (Network): The trained encoder, fusion head, scorer and alignments.
        ctx_ (GraphContext): The training graph.
        source_weight_ (float): The source weight trained with.
        source_search_ (dict[float, float] | None): Validation score of each candidate
            weight when it was chosen (``"auto"``).
    """

    file_kind = "graph"

    def __init__(self, target: str, encoder: Any = "lightgcn", fusion: Any = "target", scorer: Any = "dot",
                 alignment: Any = None, dim: int = 64, layers: int = 4, encoder_options: dict | None = None,
                 fusion_options: dict | None = None, scorer_options: dict | None = None,
                 alignment_options: dict | None = None, source_weight: float | str = "auto",
                 content: Any = None, text_encoder: Any = "wordllama", text_options: dict | None = None,
                 content_bridge: dict | None = None) -> None:
        check_number("GraphRecommender", "dim", dim, integer=True, positive=True)
        check_number("GraphRecommender", "layers", layers, integer=True)
        check_number("GraphRecommender", "source_weight", source_weight, allowed=("auto",))
        check_content_option("GraphRecommender", content)
        check_text_encoder("GraphRecommender", text_encoder)
        bridge = check_bridge_options("GraphRecommender", content_bridge)
        if bridge is not None and content is None:
            raise ValueError("GraphRecommender: content_bridge joins items by their content; give content='auto' "
                             "(or columns) too.")
        for name, value in (("encoder_options", encoder_options), ("fusion_options", fusion_options),
                            ("scorer_options", scorer_options), ("alignment_options", alignment_options),
                            ("text_options", text_options)):
            if value is not None and not isinstance(value, dict):
                raise TypeError(f"GraphRecommender: {name} must be a dict of keyword options, got {value!r}.")
        self.target = target
        self.encoder, self.fusion, self.scorer, self.alignment = encoder, fusion, scorer, alignment
        self.dim, self.layers = int(dim), int(layers)
        self.encoder_options, self.fusion_options = dict(encoder_options or {}), dict(fusion_options or {})
        self.scorer_options, self.alignment_options = dict(scorer_options or {}), dict(alignment_options or {})
        self.source_weight = source_weight
        self.content, self.text_encoder, self.content_bridge = content, text_encoder, bridge
        self.text_options = dict(text_options or {})
        self._content_memo: tuple[CrossDomainData, dict | None, dict] | None = None
        check_components(encoder, fusion, scorer, alignment, self.dim, self.layers, self.component_options)
        self.network_: Network | None = None
        self.ctx_: GraphContext | None = None
        self.source_search_: dict[float, float] | None = None
        self._cache: tuple[Tensor, Tensor] | None = None

    # ------------------------------------------------------------------ build
    @property
    def component_options(self) -> dict[str, dict]:
        return {"encoder": self.encoder_options, "fusion": self.fusion_options,
                "scorer": self.scorer_options, "alignment": self.alignment_options}

    def build(self, split: Split, seed: int = 0, device: str | torch.device = "cpu") -> Network:
        """Build the network afresh for ``split``'s training graph (seeded); returns it.

        With ``content``, the item content (and the content bridge) is computed once per data
        (text encodings are cached on disk by :mod:`cdgraph.text`) and kept with the model."""
        memo = self._content_memo
        if memo is None or memo[0] is not split.data:
            memo = self._content_memo = (split.data, *graph_content(
                split.data, self.content, self.text_encoder, self.text_options, self.content_bridge))
        torch.manual_seed(seed)
        self.ctx_ = GraphContext.from_split(split, device, content=memo[1], item_edges=memo[2])
        self.network_ = Network(self.ctx_, self.encoder, self.fusion, self.scorer, self.alignment,
                                self.dim, self.layers, self.component_options).to(self.ctx_.device)
        if memo[1] is not None and not self.network_.encoder.takes_content:
            raise ValueError(f"The {type(self.network_.encoder).__name__} encoder does not use item content; "
                             f"with content={self.content!r} use encoder='lightgcn', or content=None.")
        self._cache = None
        self._remember(split)
        return self.network_

    def phases(self, split: Split, config: TrainConfig) -> Iterator[Any]:
        """One loop over the target's and the sources' BPR batches; with ``source_weight="auto"``
        first a :class:`~cdgraph.train.phases.Search` among ``config.source_weights``, each
        tried for ``search_epochs`` (``"auto"``: an eighth of the epochs with at most two
        candidates, as by default, else as None; None: half the epochs; with
        ``search_halving``, all for that many epochs and the best two for the rest;
        ``"auto"`` with more than two candidates and half the epochs: all for a sixth of the
        epochs, the best two to half), whose winner's run then continues to
        ``epochs`` (the same weights as training the winner from the start)."""
        weight = self.source_weight if config.source_weight is None else config.source_weight
        start = None
        self.source_search_ = None
        if weight == "auto" and not len(split.valid):
            log.warning("source_weight='auto' needs validation interactions and this split has none; "
                        "training with source_weight=1.0 (pass a number to choose).")
            weight = 1.0
        elif weight == "auto" and config.epochs == 0:  # nothing is trained: there is nothing to choose by
            weight = 1.0
        elif weight == "auto":
            short, first = config.search_epochs, config.search_halving
            if short == "auto":  # benchmarks/results/search.md: "ends, an eighth each"
                short = -(-config.epochs // 8) if len(config.source_weights) <= 2 else None
            length = max(1, config.epochs // 2) if short is None else min(short, config.epochs)
            if first == "auto" and len(config.source_weights) <= 2:  # the best two are all of them
                first = None
            elif first == "auto" and short is None:  # benchmarks/results/search.md: "halving 33%→100%"
                every = config.eval_every  # the rung ends on a validated epoch, so that continuing it is exact
                first = -(-max(1, round(length / 3)) // every) * every
            elif first == "auto":  # an explicit search_epochs: one short run per candidate, as asked
                first = None
            found = yield Search("source-weight", list(config.source_weights), lambda w: self.loop(split, config, w),
                                 epochs=length, validate_at_end=short is not None and first is None, first=first)
            weight, start, self.source_search_ = found.best, found.state, found.scores
            if start is not None:
                log.info("continuing the search's run of source_weight=%s to epoch %d", weight, config.epochs)
        self.source_weight_ = float(weight)
        loop = self.loop(split, config, self.source_weight_)
        loop.start = start
        yield loop
        self._cache = None

    def loop(self, split: Split, config: TrainConfig, source_weight: float) -> Loop:
        """The training loop of a freshly built network with ``source_weight``."""
        network = self.build(split, config.seed, config.device)
        ctx = self.ctx_
        batch_size, lr = step_size(config, len(ctx.edges[ctx.target][0]))
        batches = Batches(ctx, batch_size, source_weight)
        sampler = None
        if config.neighbors:  # mini-batch mode: propagate over a sampled subgraph per step
            if len(config.neighbors) != network.encoder.layers:
                raise ValueError(f"neighbors={list(config.neighbors)} gives {len(config.neighbors)} fanouts; "
                                 f"the encoder has {network.encoder.layers} layers: give one per layer.")
            if config.cold_simulation:
                raise ValueError("cold_simulation needs full-batch training; drop neighbors=... or set it to 0.")
            domains = network.encoder.sampled_domains(ctx)
            sampler = NeighborSampler({d: ctx.edges[d] for d in domains}, ctx.num_users, ctx.num_items,
                                      list(config.neighbors), ctx.device)

        def steps(gen: torch.Generator) -> Iterator[tuple]:
            graph = hide_target_edges(ctx, config.cold_simulation, gen) if config.cold_simulation else ctx
            rank, world = distributed()
            for batch in batches.epoch(gen):
                # sampled on the whole batch, so that every rank draws the same random numbers
                sample = None if sampler is None else sampler.sample(batch, gen)
                if world > 1:
                    batch = shard(batch, rank, world)
                    if sample is not None:
                        sample.batch = shard(sample.batch, rank, world)
                yield graph, batch, sample

        def loss(module: torch.nn.Module, step: tuple) -> dict[str, Tensor]:
            graph, batch, sample = step
            return module(graph, batch, config.loss, config.l2, source_weight, sample)

        def memory() -> None:
            if sampler is None:
                check_full_batch(ctx, network, batch_size, len(ctx.domains) if source_weight > 0 else 1)

        return Loop("train", network, steps, loss, self.validator(split, config), lr=lr, parallel=True,
                    memory=memory)

    # -------------------------------------------------------------- scoring
    def final(self) -> tuple[Tensor, Tensor]:
        """Fused user embeddings of all users and the target's item embeddings (cached)."""
        self._check_fitted()
        if self._cache is None:
            self.network_.eval()
            self._cache = self.network_.final(self.ctx_)
        return self._cache

    @property
    def eval_chunk(self) -> int:
        if self.network_ is not None and self.network_.scorer.classification:
            n = self.ctx_.num_items[self.target] * max(1, getattr(self.network_.scorer, "hidden", 64))
            return max(1, (1 << 26) // n)
        return 1024

    def score_users(self, users: Tensor) -> Tensor:
        fused, items = self.final()
        return self.network_.scorer.score_all(fused[users.to(fused.device)], items)

    def score_pairs(self, users: Tensor, items: Tensor) -> Tensor:
        fused, table = self.final()
        items = items.to(table.device).clamp(min=0)
        return self.network_.scorer.score_candidates(fused[users.to(fused.device)], table, items)

    def user_vectors(self, users: Tensor) -> Tensor:
        """Fused target-domain user embeddings (what the ``dot`` scorer multiplies with items)."""
        fused = self.final()[0]
        return fused[users.to(fused.device)]

    def item_index(self, method: str = "hnsw", **options: Any) -> ItemIndex:
        """A :class:`cdgraph.models.ann.ItemIndex` over the target items, for ``recommend(..., index=)``.

        Only for the ``dot`` scorer, whose score is the inner product the index ranks by.
        """
        self._check_fitted()
        if not isinstance(self.network_.scorer, DotScorer):
            raise ValueError("An item index ranks by inner product: it needs the 'dot' scorer.")
        return ItemIndex(self.final()[1], method=method, **options)

    def embeddings(self) -> dict[str, pd.DataFrame]:
        """Fused user embeddings and target item embeddings, indexed by raw id."""
        fused, items = self.final()
        data = self.data_
        return {"user": pd.DataFrame(fused.cpu().numpy(), index=data.user_ids),
                self.target: pd.DataFrame(items.cpu().numpy(), index=data.item_ids[self.target])}

    def invalidate(self) -> None:
        """Forget cached embeddings (after changing parameters by hand)."""
        self._cache = None

    # --------------------------------------------------------- persistence
    def config(self) -> dict[str, Any]:
        """The constructor arguments, components by registered name (an unregistered object
        cannot be saved: its class is not known to the loader)."""
        out = super().config()
        for kind in ("encoder", "fusion", "scorer"):
            out[kind] = _name(kind, out[kind])
        out["alignment"] = [_name("alignment", a) for a in component_list(out["alignment"])]
        if not isinstance(out["text_encoder"], str):  # a function or object: its vectors are saved
            out["text_encoder"] = None
        return out

    def get_state(self) -> dict[str, Any]:
        state = {"config": self.config(),
                 "edges": {d: torch.from_numpy(np.stack(self.ctx_.edges[d])) for d in self.ctx_.domains},
                 "state_dict": {k: v.cpu() for k, v in self.network_.state_dict().items()},
                 "train_config": self.train_config_.to_dict() if self.train_config_ else {}}
        if self.ctx_.content is not None:  # a loaded model's data has no item features: keep the vectors
            state["content"] = {d: v.cpu() for d, v in self.ctx_.content.items()}
            state["item_edges"] = [[a, b, torch.from_numpy(np.stack(e))] for (a, b), e in self.ctx_.item_edges.items()]
        return state

    @classmethod
    def from_state(cls, state: dict[str, Any], data: CrossDomainData, target: str,
                   device: str = "cpu") -> "GraphRecommender":
        model = cls(**state["config"])
        frames = {d: pd.DataFrame({"user": e[0].numpy(), "item": e[1].numpy()}) for d, e in state["edges"].items()}
        if "content" in state:
            edges = {(a, b): (e[0].numpy(), e[1].numpy()) for a, b, e in state["item_edges"]}
            model._content_memo = (data, {d: v.numpy() for d, v in state["content"].items()}, edges)
        model.build(split_of(data, model.target, frames), seed=0, device=device)
        model.network_.load_state_dict(state["state_dict"])
        model.network_.eval()
        return model


MODEL_FILES.add(GraphRecommender.file_kind, GraphRecommender)


def _name(kind: str, component: Any) -> str:
    if isinstance(component, str):
        return component
    name = getattr(component, "registered_name", None)
    if name is None:
        raise ValueError(f"Cannot save: the {kind} {component!r} is not registered; register its class "
                         f"so that it can be rebuilt by name.")
    return name
