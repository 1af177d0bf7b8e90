"""Interoperability with peer libraries' file formats.

* :mod:`cdgraph.interop.recbole`: RecBole / RecBole-CDR atomic files
  (:func:`export_recbole`, :func:`read_recbole`).
"""
from __future__ import annotations

from cdgraph.interop.recbole import export_recbole, read_recbole

__all__ = ["export_recbole", "read_recbole"]
