"""The public model: :class:`CrossDomainRecommender`, plus :func:`load_model` (re-exported from
:mod:`cdgraph.io.model_file`, which holds the saved-model file format)."""
from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any, Callable, Sequence

import pandas as pd
import torch
from torch import Tensor

from cdgraph.io.model_file import atomic_save, load_model, save_model, weights_digest
from cdgraph.models.network import LOSSES, Network, context_from_split
from cdgraph.nn.base import GraphContext
from cdgraph.models.base import Recommender, valid_protocol as resolve_protocol
from cdgraph.data.split import Split
from cdgraph.train.loop import (TrainConfig, distributed, check_fingerprint, check_options, check_train_config, data_fingerprint, train)

if TYPE_CHECKING:
    from cdgraph.models.ann import ItemIndex

__all__ = ["CrossDomainRecommender", "load_model"]

CHECKPOINT_FORMAT = 1
log = logging.getLogger(__name__)


class CrossDomainRecommender(Recommender):
    """Graph-based cross-domain recommender for one target domain.

    An encoder learns user views and item embeddings on the cross-domain graph,
    a fusion head combines a user's views into one target view, a scorer ranks the
    target's items, and optional alignment losses tie the domain views together.
    Each component is a registered name (see :mod:`cdgraph.nn`), a class or an object.

    The defaults are the best configuration measured on Amazon Sport->Cloth and Douban
    Book->Music (``benchmarks/bench_models.py``): LightGCN on the joint graph with 4
    layers (deeper paths reach across domains through shared users) trained with a
    multi-domain BPR objective whose source-domain weight is selected on validation
    (``source_weight="auto"``): the best weight differs by dataset (about 3 for Amazon
    Sport->Cloth, 0.5 for Douban Book->Music), and a fixed weight of 1 (the plain
    joint-graph LightGCN baseline) is worse on both. Views split per domain with an
    attention or weighted fusion head, domain-specific user tables, BiTGCF-style
    transfer and a two-tower joint + target encoder all measured below the joint
    graph; they remain available as components.

    Example::

        data = cdgraph.datasets.load("amazon-sport-cloth")
        split = cdgraph.data.split.predefined(data, target="cloth")
        model = cdgraph.CrossDomainRecommender(target="cloth").fit(split, epochs=30)
        model.evaluate(split, protocol="sampled")     # {"NDCG@10": ..., ...}
        model.recommend([12, 40], k=10)                # raw ids in, raw ids out

    Args:
        target (str): The domain to recommend.
        encoder, fusion, scorer: Component names, classes or objects.
            (defaults: ``"lightgcn"`` on the joint graph, ``"target"``, ``"dot"``)
        alignment: None, one alignment loss or a list (``"contrastive"``,
            ``"adversarial"``, ``"weight-sharing"``).
        dim (int): Embedding size. (default: 64)
        layers (int): Propagation layers. (default: 4)
        encoder_options, fusion_options, scorer_options, alignment_options (dict):
            Extra keyword arguments for components given by name.
        source_weight (float or "auto"): Default weight of the source domains' losses
            in :meth:`fit`; ``"auto"`` selects it on validation. (default: ``"auto"``)
        source_weights (sequence of float): Candidates of the ``"auto"`` search
            (non-negative numbers, at least one).
        device (str): ``"cpu"``, ``"cuda"``, ``"cuda:0"``, ...
    """

    def __init__(self, target: str, encoder: Any = "lightgcn", fusion: Any = "target",
                 scorer: Any = "dot", alignment: Any = None, dim: int = 64, layers: int = 4,
                 encoder_options: dict | None = None, fusion_options: dict | None = None,
                 scorer_options: dict | None = None, alignment_options: dict | None = None,
                 source_weight: float | str = "auto",
                 source_weights: Sequence[float] = (0.25, 0.5, 1.0, 2.0, 3.0), device: str = "cpu") -> None:
        source_weights = tuple(source_weights)
        if not source_weights:
            raise ValueError("source_weights must hold at least one candidate weight for "
                             "source_weight='auto', e.g. (0.5, 1.0, 2.0).")
        check_options("CrossDomainRecommender", dim=dim, layers=layers, source_weight=source_weight)
        for weight in source_weights:
            check_options("CrossDomainRecommender", source_weights=weight)
        try:
            self.device = torch.device(device)
        except (RuntimeError, TypeError):
            raise ValueError(f"CrossDomainRecommender: device must name a torch device such as 'cpu', "
                             f"'cuda' or 'cuda:0', got {device!r}.") from None
        self.target = target
        self.encoder, self.fusion, self.scorer, self.alignment = encoder, fusion, scorer, alignment
        self.dim, self.layers = int(dim), int(layers)
        self.options = {"encoder": dict(encoder_options or {}), "fusion": dict(fusion_options or {}),
                        "scorer": dict(scorer_options or {}), "alignment": dict(alignment_options or {})}
        self.source_weight, self.source_weights = source_weight, tuple(float(w) for w in source_weights)
        self.network_: Network | None = None
        self.ctx_: GraphContext | None = None
        self.history_: pd.DataFrame | None = None
        self.train_config_: TrainConfig | None = None
        self._cache: tuple[Tensor, Tensor] | None = None
        # set by the source-weight search around each short run: also called with the loop's state
        self._epoch_hook: Callable[[dict[str, Any]], None] | None = None

    # ------------------------------------------------------------------ fit
    def _build(self, split: Split, seed: int) -> None:
        if split.target != self.target:
            raise ValueError(f"This model recommends {self.target!r}; the split's target is "
                             f"{split.target!r}. Make the split with target={self.target!r}.")
        torch.manual_seed(seed)
        self.ctx_ = context_from_split(split, self.device)
        self.network_ = Network(self.ctx_, self.encoder, self.fusion, self.scorer, self.alignment,
                                self.dim, self.layers, self.options).to(self.device)
        self._remember(split)

    def fit(self, split: Split, epochs: int = 30, lr: float = 0.01, batch_size: int = 8192,
            seed: int = 0, patience: int | None = 10, eval_every: int = 1,
            valid_metric: str = "NDCG@10", valid_protocol: str | None = None, loss: str = "bpr",
            l2: float = 1e-4, source_weight: float | str | None = None,
            num_negatives: int | None = None, neighbors: Sequence[int] | None = None,
            cold_simulation: float = 0.0,
            check_memory: bool = True, progress: bool | None = None,
            checkpoint: str | os.PathLike | None = None, resume: bool = False) -> "CrossDomainRecommender":
        """Train on ``split.train``; early-stop on ``split.valid``.

        Args:
            epochs (int): Passes over the target domain's training interactions. 0 builds
                the model and keeps its initial weights (an untrained reference; needs a
                numeric ``source_weight``).
            lr (float): Adam learning rate.
            batch_size (int): Target positives per step (each source adds as many).
            seed (int): Seeds initialisation and sampling; the same seed gives the
                same metrics on CPU.
            patience (int, optional): Evaluations without improvement before stopping;
                the best weights are restored. None trains all epochs.
            valid_metric (str): Metric that selects the model, e.g. ``"NDCG@10"`` or ``"MRR"``.
            valid_protocol (str, optional): ``"full"`` or ``"sampled"``; by default the
                dataset's protocol when it declares one, else ``"full"``.
            loss (str): ``"bpr"`` (Rendle et al., UAI 2009), ``"bce"`` or ``"softmax"``
                (sampled softmax over shared negatives; see :func:`cdgraph.models.network._domain_loss`).
            l2 (float): L2 weight on the batch's layer-0 embeddings.
            source_weight (float or "auto", optional): Weight of the source domains'
                losses (0 = none). ``"auto"`` picks it on validation among
                :attr:`source_weights`, each tried for half the epochs; the winner's run
                then continues to ``epochs`` (the same weights as training the winner from
                the start; ``source_weight_`` and ``source_search_`` record the choice).
                None uses the model's own ``source_weight`` (default ``"auto"``).
            neighbors (list of int, optional): Mini-batch mode: each step propagates over
                a subgraph sampled around the batch's users and items, keeping at most
                ``neighbors[l]`` neighbours per node at hop ``l`` (one fanout per layer; see
                :mod:`cdgraph.graph.sampling`). For graphs whose full-batch training
                does not fit in memory, or to make an epoch on a very large graph cheaper.
                Evaluation still propagates over the whole graph (without gradients).
                None (default) trains full-batch.
            cold_simulation (float): Each epoch, hide the target-domain edges of this
                fraction of the shared users from the propagation graph while keeping their
                target interactions in the loss (:func:`cdgraph.train.loop.hide_target_edges`),
                so that the model learns to place users from their source neighbourhood
                alone, as it must for cold-start users. 0 (default) hides nothing. Measured
                on CDRIB's cold-start splits (seed 0, 30 epochs, cold-user test MRR):
                game->video 0.068 -> 0.072 with 0.5, video->game 0.045 -> 0.044; so it is
                an option to select on validation, not a default.
            check_memory (bool): Before full-batch training, estimate its memory
                (:func:`cdgraph.train.memory.estimate_full_batch`) and raise ``MemoryError``,
                pointing to ``neighbors=``, when it exceeds what the device has free.
            progress (bool, optional): Show a tqdm bar; by default only on a terminal.
            checkpoint (str or PathLike, optional): File to write after every epoch
                (atomically: a temporary file renamed over it) with everything needed
                to continue: weights, Adam state, epoch, history, best-so-far weights,
                score and patience counter, random generator states, the options, the
                model configuration and a fingerprint of the data and split. It holds
                only tensors, numbers, strings, lists and dicts (readable with
                ``torch.load(weights_only=True)``). A non-finite loss stops training
                before its epoch ends, leaving the last complete epoch's checkpoint.
                With ``source_weight="auto"`` the search's short runs write none; the
                final run does, from the winner's short run on, and records the chosen weight.
                An existing file that is not a cdgraph training checkpoint (a saved model,
                say) is never overwritten: ``ValueError``.
            resume (bool): Continue from ``checkpoint`` if that file exists (else start
                afresh, and say so in the log). ``epochs`` stays the total budget: a
                checkpoint after 3 epochs resumed with ``epochs=10`` trains epochs 4..10
                and, on CPU with the same seed, ends with the same weights, history and
                metrics as one uninterrupted 10-epoch run. (A run that completed a smaller
                budget was also validated at its last epoch; with ``eval_every`` > 1 an
                uninterrupted run may not have been.) Refused with a ``ValueError``
                naming the difference if the checkpoint was made on other data, id maps
                or split, with another model configuration, or with other options (only
                ``epochs`` and ``progress`` may change). ``source_weight="auto"`` reuses
                the weight chosen before the interruption (searched with that run's
                ``epochs``) instead of searching again.
        """
        if resume and checkpoint is None:
            raise ValueError("resume=True needs checkpoint=<path of the checkpoint file>.")
        if not 0 <= cold_simulation < 1:
            raise ValueError(f"cold_simulation must be a fraction in [0, 1), got {cold_simulation!r}.")
        if loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}.")
        source_weight = self.source_weight if source_weight is None else source_weight
        check_options("fit", lr=lr, batch_size=batch_size, patience=patience, eval_every=eval_every,
                      l2=l2, source_weight=source_weight)
        if epochs == 0 and isinstance(epochs, int) and source_weight != "auto":
            log.warning("fit(epochs=0) trains nothing: the model keeps its initial weights.")
        else:  # "auto" selects the weight by training: it needs an epoch at least
            check_options("fit", epochs=epochs)
        if checkpoint is not None and not resume and os.path.exists(checkpoint) and not _is_checkpoint(checkpoint):
            raise ValueError(f"checkpoint={os.fspath(checkpoint)!r} exists and is not a cdgraph training "
                             f"checkpoint, which fit would overwrite; choose another path or delete the file.")
        valid_protocol, num_negatives = resolve_protocol(split, valid_protocol, num_negatives)
        requested = source_weight
        saved = self._read_checkpoint(checkpoint, split, requested) if resume else None
        if saved is not None and requested == "auto":
            source_weight = saved["source_weight_"]
            self.source_search_ = _float_keys(saved.get("source_search_"))
        start = None  # the search winner's loop state, which the final run continues
        if saved is None and source_weight == "auto":
            source_weight, start = self._search_source_weight(
                split, dict(epochs=max(1, epochs // 2), lr=lr, batch_size=batch_size, seed=seed,
                            patience=patience, eval_every=eval_every, valid_metric=valid_metric,
                            valid_protocol=valid_protocol, loss=loss, l2=l2,
                            num_negatives=num_negatives, neighbors=neighbors,
                            cold_simulation=cold_simulation, check_memory=check_memory,
                            progress=progress))
        self.source_weight_ = float(source_weight)
        cfg = TrainConfig(epochs=epochs, lr=lr, batch_size=batch_size, seed=seed, patience=patience,
                          eval_every=eval_every, valid_metric=valid_metric,
                          valid_protocol=valid_protocol, num_negatives=num_negatives, loss=loss, l2=l2,
                          source_weight=source_weight,
                          neighbors=None if neighbors is None else [int(k) for k in neighbors],
                          cold_simulation=float(cold_simulation), progress=progress)
        self._build(split, seed)
        if check_memory and neighbors is None:
            from cdgraph.train.memory import check_full_batch
            check_full_batch(self.ctx_, self.network_, batch_size, len(self.ctx_.domains)
                             if source_weight > 0 else 1)
        self.train_config_ = cfg
        if saved is not None:
            if saved["config"] != self.config():
                diff = sorted(k for k in set(saved["config"]) | set(self.config())
                              if saved["config"].get(k) != self.config().get(k))
                raise ValueError(f"Checkpoint {os.fspath(checkpoint)!r} was made by a model with another "
                                 f"configuration ({', '.join(diff)} differ); build the model as it was "
                                 f"or train afresh (resume=False).")
            check_train_config(saved["train"]["train_config"], cfg, os.fspath(checkpoint))
        if checkpoint is not None:
            if saved is None and os.path.exists(checkpoint):
                log.info("checkpoint %r exists; training afresh and overwriting it (resume=False).",
                         os.fspath(checkpoint))
            fixed = {"format": CHECKPOINT_FORMAT, "kind": "cdgraph-checkpoint", "config": self.config(),
                     "fingerprint": data_fingerprint(split), "source_weight": requested,
                     "source_weight_": self.source_weight_,
                     "source_search_": getattr(self, "source_search_", None) if requested == "auto" else None}

            def write(state: dict[str, Any]) -> None:
                atomic_save({**fixed, "train": state, "sha256": weights_digest(state["network"])},
                            checkpoint)
        else:
            write = None
        if len(split.valid):
            check = self._validator(split, valid_metric, valid_protocol, num_negatives, seed)

            def validate() -> dict[str, float]:
                self._cache = None
                return check()
        else:
            validate = None
        hooks = [h for h in (write, self._epoch_hook) if h is not None]
        if start is not None:
            log.info("continuing the search's run of source_weight=%s from epoch %d to %d",
                     source_weight, start["epoch"], epochs)
            if write is not None:  # the checkpoint exists from here on, as if trained so far
                write(start)
        self.history_ = train(self.network_, self.ctx_, split, cfg, validate,
                              on_epoch_end=(lambda state: [h(state) for h in hooks]) if hooks else None,
                              resume=saved["train"] if saved is not None else start)
        self._cache = None
        return self

    def _read_checkpoint(self, path: str | os.PathLike, split: Split,
                         source_weight: float | str) -> dict[str, Any] | None:
        """The checkpoint at ``path`` checked against ``split``; None if there is none yet."""
        path = os.fspath(path)
        if not os.path.exists(path):
            log.info("resume: no checkpoint at %r yet; training from the start.", path)
            return None
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # torch raises UnpicklingError / RuntimeError variants
            raise ValueError(f"Cannot resume from {path!r}: it is not a checkpoint readable with "
                             f"weights_only=True ({type(exc).__name__}: "
                             f"{(str(exc).splitlines() or [''])[0][:200]}).") from None
        if not isinstance(state, dict) or state.get("kind") != "cdgraph-checkpoint":
            raise ValueError(f"{path!r} is not a cdgraph training checkpoint.")
        if state.get("format") != CHECKPOINT_FORMAT:
            raise ValueError(f"{path!r} has checkpoint format {state.get('format')}; this cdgraph "
                             f"reads {CHECKPOINT_FORMAT}.")
        if state.get("sha256") != weights_digest(state["train"]["network"]):
            raise ValueError(f"{path!r} is corrupt: the checksum of its weights does not match; "
                             f"train afresh (resume=False).")
        check_fingerprint(state["fingerprint"], data_fingerprint(split), path)
        if state["source_weight"] != source_weight:
            raise ValueError(f"Checkpoint {path!r} was trained with source_weight="
                             f"{state['source_weight']!r}; this fit asks for {source_weight!r}.")
        log.info("resume: %r holds epoch %d of %d.", path, state["train"]["epoch"],
                 state["train"]["train_config"]["epochs"])
        return state

    def _search_source_weight(self, split: Split, options: dict[str, Any]
                              ) -> tuple[float, dict[str, Any] | None]:
        """Best of :attr:`source_weights` by validation ``valid_metric`` after short runs.

        Returns the weight and the training loop's state at the end of its short run
        (see :func:`cdgraph.train.loop.train`), from which the final run continues: with the
        same seed its first epochs are exactly the short run's. The state is None (the final
        run starts afresh) under data-parallel training, whose ranks other than 0 see no
        state, and when ``eval_every`` does not divide the short run's epochs (a short run
        validates at its last epoch, where the full one would not).
        """
        if not len(split.valid):
            log.warning("source_weight='auto' needs validation interactions and this split has none; "
                        "training with source_weight=1.0 (pass a number to choose).")
            return 1.0, None
        keep = options["epochs"] % options["eval_every"] == 0 and distributed()[1] == 1
        scores: dict[float, float] = {}
        best, best_state = None, None
        for weight in self.source_weights:
            last: dict[str, Any] = {}
            self._epoch_hook = last.update if keep else None
            try:
                self.fit(split, source_weight=weight, **options)
            finally:
                self._epoch_hook = None
            scores[weight] = float(self.history_[f"valid/{options['valid_metric']}"].max())
            if best is None or scores[weight] > scores[best]:
                best, best_state = weight, (last or None)
        self.source_search_ = scores
        log.info("source_weight search: %s -> %s", scores, best)
        return best, best_state

    # -------------------------------------------------------------- scoring
    def _final(self) -> tuple[Tensor, Tensor]:
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
        fused, items = self._final()
        return self.network_.scorer.score_all(fused[users.to(fused.device)], items)

    def score_pairs(self, users: Tensor, items: Tensor) -> Tensor:
        fused, table = self._final()
        items = items.to(table.device).clamp(min=0)
        return self.network_.scorer.score_candidates(fused[users.to(fused.device)], table, items)

    def user_vectors(self, users: Tensor) -> Tensor:
        """Fused target-domain user embeddings (what the ``dot`` scorer multiplies with items)."""
        return self._final()[0][users.to(self._final()[0].device)]

    def item_index(self, method: str = "hnsw", **options: Any) -> "ItemIndex":
        """A :class:`cdgraph.models.ann.ItemIndex` over the target items, for ``recommend(..., index=)``.

        Only for the ``dot`` scorer, whose score is the inner product the index ranks by.
        """
        from cdgraph.models.ann import ItemIndex
        from cdgraph.nn.scorers import DotScorer
        self._check_fitted()
        if not isinstance(self.network_.scorer, DotScorer):
            raise ValueError("An item index ranks by inner product: it needs the 'dot' scorer.")
        return ItemIndex(self._final()[1], method=method, **options)

    def embeddings(self) -> dict[str, pd.DataFrame]:
        """Fused user embeddings and target item embeddings, indexed by raw id."""
        fused, items = self._final()
        data = self.data_
        return {"user": pd.DataFrame(fused.cpu().numpy(), index=data.user_ids),
                self.target: pd.DataFrame(items.cpu().numpy(), index=data.item_ids[self.target])}

    def invalidate(self) -> None:
        """Forget cached embeddings (after changing parameters by hand)."""
        self._cache = None

    # --------------------------------------------------------- persistence
    def config(self) -> dict[str, Any]:
        """The constructor arguments (components must be given by name to be saved)."""
        for kind in ("encoder", "fusion", "scorer"):
            if not isinstance(getattr(self, kind), str):
                name = getattr(getattr(self.network_, kind, None), "registered_name", None)
                if name is None:
                    raise ValueError(f"Cannot save: the {kind} was given as an unregistered object; "
                                     f"register its class so that it can be rebuilt by name.")
        aligns = [a.registered_name for a in self.network_.alignments] if self.network_ else []
        return {"target": self.target, "encoder": self.network_.encoder.registered_name,
                "fusion": self.network_.fusion.registered_name,
                "scorer": self.network_.scorer.registered_name, "alignment": aligns,
                "dim": self.dim, "layers": self.layers,
                "source_weight": self.source_weight, "source_weights": list(self.source_weights),
                "encoder_options": self.options["encoder"], "fusion_options": self.options["fusion"],
                "scorer_options": self.options["scorer"], "alignment_options": self.options["alignment"]}

    def save(self, path: str | os.PathLike) -> None:
        """Save weights, configuration, id maps and training graph (atomic write).

        The file holds only tensors, numbers, strings, lists and dicts, so that
        :func:`load_model` reads it with ``torch.load(weights_only=True)``.
        """
        self._check_fitted()
        save_model(self, path)


def _is_checkpoint(path: str | os.PathLike) -> bool:
    """Whether ``path`` holds a cdgraph training checkpoint (read safely; unreadable: no)."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # torch raises UnpicklingError / RuntimeError / OSError variants
        return False
    return isinstance(state, dict) and state.get("kind") == "cdgraph-checkpoint"


def _float_keys(scores: dict | None) -> dict[float, float] | None:
    return None if scores is None else {float(k): float(v) for k, v in scores.items()}
