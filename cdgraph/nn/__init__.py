"""Neural components: encoders, fusion heads, scorers, alignment losses and ranking losses.

Every kind has a registry; pass a registered name, a class or an instance to
:class:`cdgraph.models.GraphRecommender`, and register your own with
:func:`register_encoder`, :func:`register_fusion`, :func:`register_scorer` or
:func:`register_alignment`.
"""
from __future__ import annotations

from cdgraph.nn.base import (ALIGNMENTS, ENCODERS, FUSIONS, SCORERS, Alignment, Encoded, Encoder, Fusion,
                             Scorer, init_table, register_alignment, register_encoder, register_fusion,
                             register_scorer)
from cdgraph.nn.alignment import AdversarialAlignment, ContrastiveAlignment, GraphContrastive, WeightSharing
from cdgraph.nn.bitgcf import BiTGCFEncoder
from cdgraph.nn.fusion import ConcatMLP, ElementwiseAttention, TargetOnly, WeightedAverage
from cdgraph.nn.gadtcdr import ElementAttention, GADTCDREncoder
from cdgraph.nn.hetero import GATEncoder, SAGEEncoder
from cdgraph.nn.lightgcn import LightGCNEncoder
from cdgraph.nn.losses import LOSSES
from cdgraph.nn.ppgn import PPGNEncoder
from cdgraph.nn.scorers import DotScorer, MLPScorer
from cdgraph.nn.towers import TwoTowerEncoder

__all__ = [
    "ALIGNMENTS", "ENCODERS", "FUSIONS", "LOSSES", "SCORERS", "AdversarialAlignment", "Alignment",
    "BiTGCFEncoder", "ConcatMLP", "ContrastiveAlignment", "DotScorer", "ElementAttention",
    "ElementwiseAttention", "Encoded", "Encoder", "Fusion", "GADTCDREncoder", "GATEncoder",
    "GraphContrastive", "LightGCNEncoder", "MLPScorer", "PPGNEncoder", "SAGEEncoder", "Scorer",
    "TargetOnly", "TwoTowerEncoder", "WeightSharing", "WeightedAverage", "init_table",
    "register_alignment", "register_encoder", "register_fusion", "register_scorer",
]
