"""Every model, by name in :data:`MODELS`: cdgraph's own, the baselines and the published methods.

:func:`make_model` builds one (``make_model("cdgraph", target="cloth")``), and
:func:`register_model` adds your own. Registered here:

* ``cdgraph``: cdgraph's best model, :class:`GraphMix`: the joint graph, mixed with a
  target-only LightGCN for users with target history and a PTUPCDR bridge for users new
  to the target, the weights chosen on validation;
* ``graph``: :class:`GraphRecommender`, the configurable graph model (encoder, fusion
  head, scorer, alignment losses) that ``cdgraph`` and the graph baselines build on;
* the baselines of :mod:`cdgraph.models.baselines`: ``pop``, ``bprmf``, ``lightgcn-target``,
  ``lightgcn-joint``;
* the published methods of :mod:`cdgraph.models.published`: ``bitgcf`` (BiTGCF, CIKM 2020),
  ``graph-contrastive``, ``ppgn`` (PPGN, CIKM 2019) and ``gadtcdr`` (GA-DTCDR, IJCAI 2020);
* ``emcdr`` / ``emcdr-lightgcn``: :class:`EMCDR` (Man et al., IJCAI 2017) on BPR-MF or
  LightGCN factors;
* ``ptupcdr`` / ``ptupcdr-lightgcn``: :class:`PTUPCDR` (Zhu et al., WSDM 2022) on BPR-MF or
  LightGCN factors;
* ``content-knn``: :class:`ContentKNN`, the content-only yardstick (a user's mean item
  content, cosine to the target's items).
"""
from __future__ import annotations

from cdgraph.models import baselines, published
from cdgraph.models.base import Recommender
from cdgraph.models.content import ContentKNN
from cdgraph.models.emcdr import EMCDR
from cdgraph.models.factors import FactorRecommender
from cdgraph.models.graph import GraphRecommender
from cdgraph.models.graph_mix import GraphMix
from cdgraph.models.ptupcdr import PTUPCDR
from cdgraph.models.registry import MODELS, available_models, make_model, register_model

__all__ = ["ContentKNN", "EMCDR", "FactorRecommender", "GraphMix", "GraphRecommender", "MODELS", "PTUPCDR", "Recommender",
           "available_models", "baselines", "make_model", "published", "register_model"]
