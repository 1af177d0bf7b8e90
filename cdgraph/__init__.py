"""cdgraph: graph-based cross-domain recommendation on PyTorch Geometric."""
from __future__ import annotations

import logging

from cdgraph import datasets, graph, nn
from cdgraph.data import CrossDomainData, split
from cdgraph.models import baselines
from cdgraph.models.graph import CrossDomainRecommender, load_model
from cdgraph.registry import Registry
from cdgraph import models as methods  # noqa: E402  (registers the published methods' components)

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = ["CrossDomainData", "CrossDomainRecommender", "load_model", "Registry", "baselines", "datasets", "graph", "methods", "nn", "split", "__version__"]
