"""Public cross-domain datasets and a synthetic generator.

>>> from cdgraph import datasets
>>> datasets.available()                      # doctest: +SKIP
>>> data = datasets.load("amazon-sport-cloth")  # doctest: +SKIP

Files live under ``root`` (``$CDGRAPH_DATA`` or ``~/.cache/cdgraph``) in their upstream
layout, are sha256-checked and, when missing, downloaded from pinned upstream commits.
"""
from __future__ import annotations

from cdgraph.datasets.catalog import available, info
from cdgraph.datasets.download import ChecksumError, DownloadError, default_root
from cdgraph.datasets.loaders import load
from cdgraph.datasets.synthetic import synthetic

__all__ = ["available", "info", "load", "synthetic", "default_root", "ChecksumError", "DownloadError"]
