"""Hyper-parameter search with Optuna: :func:`tune` (also ``cdgraph.tune``) and ``cdgraph tune``.

* :mod:`.space`: the search space, derived from the options the model and
  :class:`~cdgraph.TrainConfig` declare, with default ranges a space can override or extend;
* :mod:`.study`: :class:`Tuner` (a seeded TPE study with a median pruner, resumable from a
  database storage) and :func:`tune`;
* :mod:`.output`: the trials table and the optimisation-history and importance plots.

Optuna and matplotlib are optional: ``pip install 'cdgraph[tune]'``; importing this package
does not need them.
"""
from __future__ import annotations

from cdgraph.tune.space import DEFAULT_RANGES, Dimension, search_space
from cdgraph.tune.study import Tuner, require_optuna, tune

__all__ = ["DEFAULT_RANGES", "Dimension", "Tuner", "require_optuna", "search_space", "tune"]
