"""cdgraph: graph-based cross-domain recommendation on PyTorch Geometric."""
from __future__ import annotations

import logging

from . import baselines, datasets, graph, nn, split
from .data import CrossDomainData
from .model import CrossDomainRecommender, load_model
from .registry import Registry
from . import methods  # noqa: E402  (registers the published methods' components)

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = ["CrossDomainData", "CrossDomainRecommender", "load_model", "Registry", "baselines", "datasets", "graph", "methods", "nn", "split", "__version__"]
