"""Evaluation: the protocols a split is evaluated with, and the metrics behind them.

* :func:`evaluate_scores`: a model's scoring functions on a split's held-out part, by
  protocol (``"full"``, ``"sampled"``, ``"classification"``), cold and warm users apart;

* :func:`full_ranking`: held-out items against the whole catalogue, train items masked,
  users scored in chunks; Recall / NDCG / HR / Precision / MRR at K, one row per user.
* :func:`sampled_ranking`: the 1 + n sampled protocol of NCF / DisenCDR / CDRIB, with
  pessimistic ties; MRR, HR and NDCG at K, one row per held-out pair.
* :func:`sample_negatives`: the seeded, vectorised negative sampler behind it;
  :func:`new_item_negatives`: negatives that rank a ``cold_items`` split's new items among
  themselves.
* :func:`classification` and :func:`auc`: one negative per positive; accuracy,
  precision, recall, F1 and AUC.
* :func:`summarize` and :func:`paired_test`: means (per group) and significance tests.

:mod:`torch_geometric.metrics` provides full-ranking ``LinkPred*`` metrics as running means
over precomputed top-K lists; these functions add the chunked scoring and masking, the
sampled protocol, MRR over sampled candidates and per-row output.
"""
from __future__ import annotations

from cdgraph.evaluation.full import full_ranking
from cdgraph.evaluation.negatives import sample_negatives
from cdgraph.evaluation.protocols import (PROTOCOLS, check_metric, evaluate_scores, metric_names,
                                          new_item_negatives, valid_protocol)
from cdgraph.evaluation.sampled import auc, classification, sampled_ranking
from cdgraph.evaluation.stats import paired_test, summarize

__all__ = ["PROTOCOLS", "auc", "check_metric", "classification", "evaluate_scores", "full_ranking",
           "metric_names", "new_item_negatives", "paired_test", "sample_negatives", "sampled_ranking", "summarize",
           "valid_protocol"]
