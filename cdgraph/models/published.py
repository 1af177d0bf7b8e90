"""Published graph methods as configurations of :class:`~cdgraph.models.graph.GraphRecommender`.

Each is registered under its name; its encoder (and fusion head) live in :mod:`cdgraph.nn`.
Keyword options override the configuration (e.g. ``layers=2``, ``scorer="mlp"``).
"""
from __future__ import annotations

from typing import Any

from cdgraph.models.graph import GraphRecommender
from cdgraph.models.registry import register_model


@register_model("bitgcf")
def bitgcf(target: str, **options: Any) -> GraphRecommender:
    """BiTGCF (Liu et al., CIKM 2020): per-domain LightGCN propagation with a bi-directional
    transfer of shared users' features at every layer (:class:`cdgraph.nn.bitgcf.BiTGCFEncoder`),
    the views fused by attention, both domains trained with weight 1."""
    return GraphRecommender(target, **{"encoder": "bitgcf", "fusion": "attention", "layers": 3,
                                       "source_weight": 1.0, **options})


@register_model("graph-contrastive")
def graph_contrastive(target: str, **options: Any) -> GraphRecommender:
    """Joint-graph LightGCN (``lightgcn-joint``, source weight 1) plus a contrastive alignment
    of each shared user's per-domain graph views
    (:class:`cdgraph.nn.alignment.GraphContrastive`)."""
    return GraphRecommender(target, **{"encoder_options": {"views": "dual"}, "alignment": "graph-contrastive",
                                       "source_weight": 1.0, **options})


@register_model("ppgn")
def ppgn(target: str, **options: Any) -> GraphRecommender:
    r"""PPGN (Zhao, Li and Fu, "Cross-Domain Recommendation via Preference Propagation
    GraphNet", CIKM 2019): the ``"ppgn"`` encoder (:class:`cdgraph.nn.ppgn.PPGNEncoder`) on
    the joint graph of all domains, ``dim=64``, ``layers=3``; one representation per user (no
    fusion); every domain's loss with the same weight, the paper's multi-task sum.

    The paper predicts with a domain-specific MLP; the default here is the ``"dot"`` scorer
    (``scorer="mlp"`` gives the paper's head), and the loss BPR rather than the paper's log
    loss (``loss="bce"`` in the training options); the encoder's ``self_loop="normalized"``
    and ``weight_scale=0.05`` are explained in :class:`~cdgraph.nn.ppgn.PPGNEncoder`.
    """
    encoder_options = {"negative_slope": 0.2, "self_loop": "normalized", "weight_scale": 0.05,
                       **options.pop("encoder_options", {})}
    return GraphRecommender(target, **{"encoder": "ppgn", "dim": 64, "layers": 3, "source_weight": 1.0,
                                       "fusion": "target", "scorer": "dot", **options,
                                       "encoder_options": encoder_options})


@register_model("gadtcdr")
def gadtcdr(target: str, **options: Any) -> GraphRecommender:
    r"""GA-DTCDR (Zhu, Wang, Chen, Liu and Zheng, "A Graphical and Attentional Framework for
    Dual-Target Cross-Domain Recommendation", IJCAI 2020): per-domain graph embeddings
    (encoder ``"gadtcdr"``, :class:`cdgraph.nn.gadtcdr.GADTCDREncoder`, ``dim=64``,
    ``layers=2``) combined by element-wise attention (fusion ``"element-attention"``), both
    domains trained with equal weight (the paper is dual-target).

    The paper predicts with per-domain fully connected towers and a cosine; the default here
    is the ``"dot"`` scorer (``scorer="mlp"`` for MLP prediction layers) and BPR rather than
    the paper's log loss.
    """
    return GraphRecommender(target, **{"encoder": "gadtcdr", "dim": 64, "layers": 2, "source_weight": 1.0,
                                       "fusion": "element-attention", "scorer": "dot", **options})
