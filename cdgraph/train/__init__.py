"""Training: one :class:`Trainer` for every model, one :class:`TrainConfig` for every option.

* :mod:`~cdgraph.train.config`: :class:`TrainConfig`, each option declared once;
* :mod:`~cdgraph.train.phases`: what a model asks the trainer to run (loops, parts, searches);
* :mod:`~cdgraph.train.trainer`: :class:`Trainer`, which runs them with checkpoints and resume;
* :mod:`~cdgraph.train.loop`: the optimisation loop with early stopping;
* :mod:`~cdgraph.train.batches`: negative sampling for the graph models;
* :mod:`~cdgraph.train.checkpoint`, :mod:`~cdgraph.train.memory`,
  :mod:`~cdgraph.train.distributed`, :mod:`~cdgraph.train.allocator`: what the trainer builds on.
"""
from __future__ import annotations

from cdgraph.train.config import TrainConfig
from cdgraph.train.loop import NonFiniteLoss
from cdgraph.train.phases import Fit, Loop, LoopResult, Search, SearchResult
from cdgraph.train.trainer import Trainer

__all__ = ["Fit", "Loop", "LoopResult", "NonFiniteLoss", "Search", "SearchResult", "TrainConfig", "Trainer"]
