"""Whole recommenders by name, and the published cross-domain methods built from cdgraph's parts.

:data:`METHODS` (see :mod:`cdgraph.models.registry`) maps a name to a factory
``(target, **options) -> Recommender``; benchmarks and the command line build from it,
and :func:`register_method` adds your own. Registered here:

* ``cdgraph``: cdgraph's best model, :class:`GraphMix`: the default
  :class:`~cdgraph.CrossDomainRecommender` (see its docstring for why it is configured as
  it is), its scores mixed with a target-only LightGCN's for users with target history and
  with a PTUPCDR bridge's for users cold in the target, weights chosen on validation;
* the baselines of :mod:`cdgraph.models.baselines`: ``pop``, ``bprmf``, ``lightgcn-target``,
  ``lightgcn-joint``;
* ``bitgcf``: BiTGCF (Liu et al., CIKM 2020), the ``bitgcf`` encoder with attention fusion;
* ``graph-contrastive``: joint-graph LightGCN plus a contrastive alignment of each shared
  user's per-domain graph views (the ``graph-contrastive`` alignment loss);
* ``emcdr`` / ``emcdr-lightgcn``: :class:`EMCDR` (Man et al., IJCAI 2017) on BPR-MF or
  LightGCN factors;
* ``ppgn``: PPGN (Zhao et al., CIKM 2019), see :mod:`cdgraph.models.ppgn`;
* ``gadtcdr``: GA-DTCDR (Zhu et al., IJCAI 2020), see :mod:`cdgraph.models.gadtcdr`;
* ``ptupcdr`` / ``ptupcdr-lightgcn``: :class:`PTUPCDR` (Zhu et al., WSDM 2022) on BPR-MF or
  LightGCN factors.
"""
from __future__ import annotations

from typing import Any

from cdgraph.models import baselines
from cdgraph.models.graph import CrossDomainRecommender
from cdgraph.models.emcdr import EMCDR
from cdgraph.models.gadtcdr import gadtcdr
from cdgraph.models.graph_mix import GraphMix
from cdgraph.models.ppgn import ppgn
from cdgraph.models.ptupcdr import PTUPCDR
from cdgraph.models.registry import METHODS, available_methods, make_method, register_method


@register_method("cdgraph")
def cdgraph_default(target: str, **options: Any) -> GraphMix:
    """The best model: joint-graph LightGCN, source weight chosen on validation, mixed with a
    target-only LightGCN for warm users and a PTUPCDR bridge for cold users, with weights
    chosen on validation."""
    return GraphMix(target, **options)


for _name in baselines.BASELINES:
    register_method(_name)(lambda target, _name=_name, **options: baselines.make(_name, target, **options))


@register_method("bitgcf")
def bitgcf(target: str, **options: Any) -> CrossDomainRecommender:
    """BiTGCF (Liu et al., CIKM 2020): see :class:`cdgraph.nn.bitgcf.BiTGCFEncoder`."""
    return CrossDomainRecommender(target, **{"encoder": "bitgcf", "fusion": "attention", "layers": 3,
                                             "source_weight": 1.0, **options})


@register_method("graph-contrastive")
def graph_contrastive(target: str, **options: Any) -> CrossDomainRecommender:
    """Joint-graph LightGCN with the ``graph-contrastive`` alignment of shared users' views
    (:class:`cdgraph.nn.alignment.GraphContrastive`): ``lightgcn-joint`` (source weight 1)
    plus the contrastive loss. The weight is fixed, not searched: the search's five short
    runs of the three-view encoder took over 20 minutes on one Amazon task."""
    return CrossDomainRecommender(target, **{"encoder_options": {"views": "dual"},
                                             "alignment": "graph-contrastive", "source_weight": 1.0,
                                             **options})


@register_method("emcdr")
def emcdr(target: str, **options: Any) -> EMCDR:
    """EMCDR on BPR-MF factors (the paper's MF variant)."""
    return EMCDR(target, **options)


@register_method("emcdr-lightgcn")
def emcdr_lightgcn(target: str, **options: Any) -> EMCDR:
    """EMCDR on 4-layer LightGCN factors learned per domain."""
    return EMCDR(target, **{"layers": 4, **options})


register_method("ppgn")(ppgn)
register_method("gadtcdr")(gadtcdr)


@register_method("ptupcdr")
def ptupcdr(target: str, **options: Any) -> PTUPCDR:
    """PTUPCDR on BPR-MF factors (the paper's setting)."""
    return PTUPCDR(target, **options)


@register_method("ptupcdr-lightgcn")
def ptupcdr_lightgcn(target: str, **options: Any) -> PTUPCDR:
    """PTUPCDR on 4-layer LightGCN factors learned per domain."""
    return PTUPCDR(target, **{"layers": 4, **options})


__all__ = ["GraphMix", "EMCDR", "PTUPCDR", "METHODS", "register_method", "make_method", "available_methods"]
