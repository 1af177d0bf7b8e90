"""What every recommender is: :class:`Recommender`, fitted by the Trainer, scoring in raw ids."""
from __future__ import annotations

import inspect
import logging
import os
from abc import ABC, abstractmethod
from typing import Any, Callable, ClassVar, Iterable, Iterator, Sequence

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from cdgraph.data.interactions import CrossDomainData, as_list
from cdgraph.data.split import Split
from cdgraph.evaluation.protocols import draw_negatives, evaluate_scores, metric_cutoffs, valid_protocol
from cdgraph.io.model_file import save_model
from cdgraph.train.config import TrainConfig
from cdgraph.train.trainer import Trainer

log = logging.getLogger(__name__)


class Recommender(ABC):
    """Base class of every model: declares how it trains and how it scores; the rest is shared.

    A model implements

    * :meth:`phases`: what training does, as phases the :class:`~cdgraph.train.Trainer`
      runs (an optimisation loop, a part fitted first, a search); a model with nothing
      to learn by gradient (popularity) does its counting there and yields nothing;
    * :meth:`score_users` and :meth:`score_pairs`: scores in index space;
    * :meth:`get_state` and :meth:`from_state`: what its saved file holds (see
      :mod:`cdgraph.io.model_file`), under the :attr:`file_kind` it registers.

    In return it gets :meth:`fit` (through the Trainer: checkpoints, exact resume,
    early stopping, progress), :meth:`evaluate` on any protocol, :meth:`recommend` in raw
    ids and :meth:`save`. Hyper-parameters are the constructor's arguments (kept as
    attributes of the same name, see :meth:`config`); what ``fit`` learns ends in ``_``.

    Attributes (after ``fit``):
        data_ (CrossDomainData): The data the model was fitted on (id maps).
        histories_ (dict[str, DataFrame]): Per epoch of each of the model's own loops.
        train_config_ (TrainConfig): The options it was trained with.
    """

    target: str
    file_kind: ClassVar[str]
    data_: CrossDomainData | None = None
    _seen: pd.DataFrame | None = None
    histories_: dict[str, pd.DataFrame] | None = None
    train_config_: TrainConfig | None = None

    # -- what a model declares ---------------------------------------------------
    def phases(self, split: Split, config: TrainConfig) -> Iterator[Any]:
        """The phases of training (see :mod:`cdgraph.train.phases`); a generator that may
        yield :class:`~cdgraph.train.phases.Loop`, :class:`~cdgraph.train.phases.Fit` and
        :class:`~cdgraph.train.phases.Search` phases. The default learns nothing."""
        self._remember(split)
        return iter(())

    @abstractmethod
    def score_users(self, users: Tensor) -> Tensor:
        """Scores ``[len(users), num_target_items]`` of the target's items."""

    @abstractmethod
    def score_pairs(self, users: Tensor, items: Tensor) -> Tensor:
        """Scores ``[n, m]`` of each user's candidate items ``[n, m]`` (``-1`` pads)."""

    @abstractmethod
    def get_state(self) -> dict[str, Any]:
        """What :meth:`save` writes besides the id maps: tensors, numbers, strings, lists, dicts."""

    @classmethod
    @abstractmethod
    def from_state(cls, state: dict[str, Any], data: CrossDomainData, target: str,
                   device: str = "cpu") -> "Recommender":
        """The fitted model of a :meth:`get_state` state for ``target``, on ``data`` (its id maps
        and the target's seen items)."""

    @property
    def eval_chunk(self) -> int:
        """Users scored at a time in evaluation and recommendation."""
        return 1024

    def invalidate(self) -> None:
        """Forget what was computed from the weights (after they changed)."""

    # -- what every model gets -----------------------------------------------------
    def fit(self, split: Split, config: TrainConfig | None = None, *, checkpoint: str | os.PathLike | None = None,
            resume: bool = False, callbacks: Sequence[Callable[[str, dict], None]] = (),
            **overrides: Any) -> "Recommender":
        """Train on ``split.train``, selecting on ``split.valid``, with the shared
        :class:`~cdgraph.train.Trainer`.

        Args:
            config (TrainConfig, optional): The training options (default: the defaults).
            checkpoint (path, optional): Write a checkpoint there after every epoch.
            resume (bool): Continue from ``checkpoint`` (see :meth:`cdgraph.train.Trainer.fit`).
            callbacks: Called after every epoch of every loop with ``(phase path, loop state)``.
            **overrides: Training options changed from ``config``, e.g. ``epochs=10``; an
                unknown name is a ``TypeError`` that lists them (see :class:`~cdgraph.TrainConfig`).
        """
        Trainer(config, **overrides).fit(self, split, checkpoint=checkpoint, resume=resume, callbacks=callbacks)
        return self

    @property
    def history_(self) -> pd.DataFrame | None:
        """Per epoch of the model's main loop (its loop named ``"train"``), if it has one."""
        return None if self.histories_ is None else self.histories_.get("train")

    def config(self) -> dict[str, Any]:
        """The constructor's arguments, read back from the attributes of the same names
        (keyword options collected in ``**options`` from the attribute ``options``)."""
        out: dict[str, Any] = {}
        for name, param in inspect.signature(type(self).__init__).parameters.items():
            if name == "self":
                continue
            if param.kind is param.VAR_KEYWORD:
                out.update(getattr(self, "options", {}))
            else:
                out[name] = getattr(self, name)
        return out

    def option_names(self) -> set[str]:
        """The options this model's constructor takes (besides ``target``)."""
        return set(self.config()) - {"target"}

    def save(self, path: str | os.PathLike) -> None:
        """Save the fitted model with its id maps (atomic write; the file holds only tensors,
        numbers, strings, lists and dicts, read back by :func:`cdgraph.load_model` with
        ``torch.load(weights_only=True)``)."""
        self._check_fitted()
        save_model(self, path)

    def validator(self, split: Split, config: TrainConfig) -> Callable[[], dict[str, float]] | None:
        """A function that evaluates on ``split.valid`` as ``config`` says (None without
        validation interactions); it forgets cached embeddings first."""
        if not len(split.valid):
            return None
        check = self._validator(split, config.valid_metric, config.valid_protocol, config.valid_negatives,
                                config.seed)

        def validate() -> dict[str, float]:
            self.invalidate()
            return check()
        return validate

    def _check_fitted(self) -> None:
        if self.data_ is None:
            raise RuntimeError(f"{type(self).__name__} is not fitted yet: call fit(split) first.")

    def _remember(self, split: Split) -> None:
        self.data_ = split.data
        train = split.train[split.target]
        self._seen = train[["user", "item"]].reset_index(drop=True)

    def _validator(self, split: Split, metric: str, protocol: str | None = None,
                   num_negatives: int | None = None, seed: int = 0) -> Callable[[], dict[str, float]]:
        """A function that evaluates on ``split.valid`` and checks that ``metric`` is reported.

        ``protocol`` and ``num_negatives`` default to the dataset's own protocol
        (:func:`~cdgraph.evaluation.protocols.valid_protocol`); sampled negatives are drawn
        once, not at every call.
        """
        protocol, num_negatives = valid_protocol(split, protocol, num_negatives)
        ks = sorted({1, 5, 10, 20, *metric_cutoffs(metric)})
        negatives: Any = "sampled"
        if protocol == "sampled":
            negatives = draw_negatives(split, "valid", num_negatives, seed)

        def validate() -> dict[str, float]:
            scores = self.evaluate(split, on="valid", protocol=protocol, k=ks,
                                   num_negatives=num_negatives, seed=seed, negatives=negatives)
            if metric not in scores:
                raise ValueError(f"valid_metric {metric!r} is not reported by the {protocol!r} "
                                 f"protocol; use one of {sorted(scores)}.")
            return scores
        return validate

    def evaluate(self, split: Split, on: str = "test", protocol: str = "full",
                 k: int | Sequence[int] = (5, 10, 20), num_negatives: int = 999, seed: int = 0,
                 negatives: Any = "sampled", per_row: bool = False) -> dict[str, float] | pd.DataFrame:
        """Evaluate on ``split``'s held-out ``on`` part; see :func:`cdgraph.evaluation.protocols.evaluate_scores`.

        Returns a dict such as ``{"NDCG@10": 0.148, "Recall@20": ...}``.
        """
        self._check_fitted()
        if split.target != self.target:
            raise ValueError(f"This model recommends {self.target!r}; the split's target is {split.target!r}.")
        if split.data is not self.data_:
            mine, theirs = self.data_, split.data
            if (not np.array_equal(np.asarray(mine.user_ids), np.asarray(theirs.user_ids)) or
                    not np.array_equal(np.asarray(mine.item_ids[self.target]),
                                       np.asarray(theirs.item_ids[self.target]))):
                raise ValueError(f"The split comes from other data than the model was fitted on: "
                                 f"its user or {self.target!r} item ids differ (in number or order). "
                                 f"Evaluate on a split of the data the model was fitted on.")
        with torch.no_grad():
            return evaluate_scores(self.score_users, self.score_pairs, split, on=on, protocol=protocol,
                                   k=k, num_negatives=num_negatives, seed=seed, negatives=negatives,
                                   chunk_size=self.eval_chunk, per_row=per_row)

    def recommend(self, users: Iterable[Any] | Any, k: int = 10, exclude_seen: bool = True,
                  unknown: str = "raise", index: Any = None) -> pd.DataFrame:
        """Top-``k`` target items for raw user ids.

        Args:
            users: One raw user id or several.
            k (int): How many items per user (capped at the catalogue size).
            exclude_seen (bool): Leave out items the user interacted with in training.
            unknown (str): ``"raise"`` (ValueError naming unknown users) or ``"skip"``.
            index (ItemIndex, optional): Retrieve from this :class:`cdgraph.models.ann.ItemIndex`
                (e.g. ``model.item_index("hnsw")``) instead of scoring every item; needs
                a model with user vectors and the dot scorer.

        Returns:
            DataFrame with columns ``user, item, score, rank`` (raw ids, rank from 1).
        """
        self._check_fitted()
        data = self.data_
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f"k must be a positive integer, got {k!r}.")
        if unknown not in ("raise", "skip"):
            raise ValueError(f"unknown must be 'raise' or 'skip', got {unknown!r}.")
        raw = as_list(users)
        idx = data.user_index(raw, missing="mark" if unknown == "skip" else "raise")
        keep = idx >= 0
        raw = [r for r, ok in zip(raw, keep) if ok]
        idx = idx[keep]
        num_items = data.num_items(self.target)
        k = min(int(k), num_items)
        empty = pd.DataFrame({"user": pd.Series(dtype=object), "item": pd.Series(dtype=object),
                              "score": pd.Series(dtype=np.float32), "rank": pd.Series(dtype=np.int64)})
        if len(idx) == 0:
            return empty
        seen = self._seen
        frames = []
        with torch.no_grad():
            for s in range(0, len(idx), self.eval_chunk):
                chunk = torch.from_numpy(idx[s:s + self.eval_chunk])
                hits = None
                if exclude_seen:  # every position of each seen user (a user may be asked for twice)
                    hits = pd.DataFrame({"user": chunk.numpy(), "pos": np.arange(len(chunk))}).merge(seen, on="user")
                if index is None:
                    scores = self.score_users(chunk).float().cpu().clone()  # never write into a model buffer
                    if hits is not None:
                        scores[torch.from_numpy(hits["pos"].to_numpy(np.int64, copy=True)),
                               torch.from_numpy(hits["item"].to_numpy(np.int64, copy=True))] = -torch.inf
                    top = torch.topk(scores, k, dim=1)
                    values, items = top.values, top.indices
                else:
                    values, items = self._retrieve(index, chunk, k, hits, num_items)
                width = values.size(1)
                valid = torch.isfinite(values)
                r = np.repeat(np.arange(len(chunk)), width)[valid.flatten().numpy()]
                frames.append(pd.DataFrame({
                    "user": np.asarray(raw, dtype=object)[s:s + self.eval_chunk][r],
                    "item": data.item_ids[self.target][items.flatten()[valid.flatten()].numpy()],
                    "score": values[valid].numpy(),
                    "rank": (np.tile(np.arange(1, width + 1), len(chunk))[valid.flatten().numpy()]),
                }))
        return pd.concat(frames, ignore_index=True) if frames else empty

    def user_vectors(self, users: Tensor) -> Tensor:  # pragma: no cover - models with vectors override
        raise TypeError(f"{type(self).__name__} has no user vectors to search an item index with.")

    def _retrieve(self, index: Any, chunk: Tensor, k: int, hits: pd.DataFrame | None,
                  num_items: int) -> tuple[Tensor, Tensor]:
        """Top-``k`` from an item index, asking for enough extra items to drop the seen ones."""
        if len(index) != num_items:
            raise ValueError(f"The index holds {len(index)} items; the target has {num_items}.")
        extra = 0
        if hits is not None and len(hits):
            extra = int(np.bincount(hits["pos"].to_numpy(), minlength=len(chunk)).max())
        scores, ids = index.search(self.user_vectors(chunk), k + extra)
        scores, ids = torch.from_numpy(scores).clone(), torch.from_numpy(ids)
        scores[ids < 0] = -torch.inf
        if extra:
            rows = torch.arange(len(chunk)).unsqueeze(1)
            seen_keys = torch.from_numpy(hits["pos"].to_numpy(np.int64) * num_items
                                         + hits["item"].to_numpy(np.int64))
            scores[torch.isin(rows * num_items + ids.clamp(min=0), seen_keys)] = -torch.inf
        top = torch.topk(scores, min(k, scores.size(1)), dim=1)
        return top.values, ids.gather(1, top.indices)
