"""cdgraph: graph-based cross-domain recommendation on PyTorch Geometric.

The packages, in the order data flows through them (see ``docs/ARCHITECTURE.md``):
:mod:`cdgraph.data` (interactions, checks, splits) and :mod:`cdgraph.datasets` (public
data), :mod:`cdgraph.graph` (HeteroData builders, the training graph), :mod:`cdgraph.nn`
(encoders, fusion heads, scorers, losses), :mod:`cdgraph.models` (every model by name),
:mod:`cdgraph.train` (the Trainer and its options), :mod:`cdgraph.evaluation` (protocols and
metrics) and :mod:`cdgraph.io` (model files); :mod:`cdgraph.benchmark`, :func:`cdgraph.tune`
(hyper-parameter search, the package :mod:`cdgraph.tune`) and :mod:`cdgraph.cli` build on them.
"""
from __future__ import annotations

import logging

from cdgraph import data, datasets, evaluation, graph, models, nn, text, train
from cdgraph.data import CrossDomainData, Split, split
from cdgraph.io.model_file import load_model
from cdgraph.models import GraphRecommender, Recommender, available_models, make_model, register_model
from cdgraph.registry import Registry
from cdgraph.train import TrainConfig, Trainer
from cdgraph.tune import tune

__version__ = "0.2.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = ["CrossDomainData", "GraphRecommender", "Recommender", "Registry", "Split", "TrainConfig", "Trainer",
           "available_models", "data", "datasets", "evaluation", "graph", "load_model", "make_model", "models",
           "nn", "register_model", "split", "text", "train", "tune",
           "__version__"]
