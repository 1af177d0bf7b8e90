"""Neural components: encoders, fusion heads, scorers and alignment losses.

Every kind has a registry; pass a registered name, a class or an instance to
:class:`cdgraph.CrossDomainRecommender`, and register your own with
:func:`register_encoder`, :func:`register_fusion`, :func:`register_scorer` or
:func:`register_alignment`.
"""
from __future__ import annotations

from cdgraph.nn.base import (ALIGNMENTS, ENCODERS, FUSIONS, SCORERS, Alignment, Encoded, Encoder, Fusion, GraphContext, Scorer, init_table, register_alignment, register_encoder, register_fusion, register_scorer)
from cdgraph.nn.alignment import (AdversarialAlignment, ContrastiveAlignment, GraphContrastive, WeightSharing)
from cdgraph.nn.bitgcf import BiTGCFEncoder
from cdgraph.nn.fusion import ConcatMLP, ElementwiseAttention, TargetOnly, WeightedAverage
from cdgraph.nn.hetero import GATEncoder, SAGEEncoder
from cdgraph.nn.lightgcn import LightGCNEncoder
from cdgraph.graph.propagation import Block, normalized_blocks
from cdgraph.nn.scorers import DotScorer, MLPScorer
from cdgraph.nn.towers import TwoTowerEncoder

__all__ = [
    "ALIGNMENTS", "ENCODERS", "FUSIONS", "SCORERS", "Alignment", "Encoded", "Encoder", "Fusion",
    "GraphContext", "Scorer", "init_table", "register_alignment", "register_encoder",
    "register_fusion", "register_scorer", "AdversarialAlignment", "ContrastiveAlignment", "GraphContrastive",
    "WeightSharing", "BiTGCFEncoder", "ConcatMLP", "ElementwiseAttention", "TargetOnly",
    "WeightedAverage", "LightGCNEncoder", "GATEncoder", "SAGEEncoder", "Block", "normalized_blocks", "DotScorer", "MLPScorer", "TwoTowerEncoder",
]
