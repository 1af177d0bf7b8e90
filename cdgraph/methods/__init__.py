"""Published cross-domain methods built from cdgraph's components.

* :class:`EMCDR` (Man et al., IJCAI 2017): per-domain factors and a learned
  source-to-target mapping for users who are cold in the target domain.
"""
from __future__ import annotations

from .emcdr import EMCDR

__all__ = ["EMCDR"]
