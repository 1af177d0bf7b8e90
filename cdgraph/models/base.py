"""What every recommender offers once fitted: evaluate, recommend, in raw ids."""
from __future__ import annotations

from typing import Any, Callable, Iterable, Sequence

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from cdgraph.data.interactions import CrossDomainData, as_list
from cdgraph.evaluation.protocols import draw_negatives, evaluate_scores
from cdgraph.data.split import Split
from cdgraph.train.loop import check_options


class Recommender:
    """Base class: subclasses fit and provide :meth:`score_users` / :meth:`score_pairs`
    in index space; this class turns them into evaluation and raw-id recommendations.

    Attributes (after ``fit``):
        data_ (CrossDomainData): The data the model was fitted on (id maps).
        target (str): The target domain.
    """

    target: str
    data_: CrossDomainData | None = None
    _seen: pd.DataFrame | None = None

    # -- subclasses implement --------------------------------------------------
    def score_users(self, users: Tensor) -> Tensor:  # pragma: no cover - interface
        raise NotImplementedError

    def score_pairs(self, users: Tensor, items: Tensor) -> Tensor:  # pragma: no cover
        raise NotImplementedError

    @property
    def eval_chunk(self) -> int:
        return 1024

    # -- shared ------------------------------------------------------------------
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
        (:func:`valid_protocol`); sampled negatives are drawn once, not at every call.
        """
        protocol, num_negatives = valid_protocol(split, protocol, num_negatives)
        ks = sorted({1, 5, 10, 20, *_cutoff(metric)})
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


def valid_protocol(split: Split, protocol: str | None = None,
                   num_negatives: int | None = None) -> tuple[str, int]:
    """The validation protocol and negative count: the given ones, else the dataset's
    (``"sampled"`` with its ``num_negatives`` when its protocol samples, else ``"full"``)."""
    own = split.data.meta.get("protocol", {})
    num_negatives = own.get("num_negatives", 999) if num_negatives is None else num_negatives
    check_options("validation", num_negatives=num_negatives)
    return protocol or ("sampled" if "num_negatives" in own else "full"), num_negatives


def _cutoff(metric: str) -> list[int]:
    return [int(metric.rsplit("@", 1)[1])] if "@" in metric and metric.rsplit("@", 1)[1].isdigit() else []
