"""The ``cdgraph`` command line (``python -m cdgraph`` or the ``cdgraph`` script).

* :mod:`.main`: the parser, logging and error handling (:func:`main`);
* :mod:`.config`: TOML configuration, flags on top, resolved and written back;
* :mod:`.rundir`: run directories and atomic file writes;
* :mod:`.pipeline`: configuration -> data, split, model, metrics;
* :mod:`.training`: ``train`` and ``compare``; :mod:`.tuning`: ``tune``; :mod:`.commands`: the
  other sub-commands;
* :mod:`.plots` (matplotlib, optional) and :mod:`.report` (markdown).
"""
from __future__ import annotations

from cdgraph.cli.main import main

__all__ = ["main"]
