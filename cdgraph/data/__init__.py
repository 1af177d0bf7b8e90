"""Cross-domain interaction data: :class:`CrossDomainData`, its checks and files, and splits."""
from __future__ import annotations

from cdgraph.data.interactions import CrossDomainData, as_list
from cdgraph.data import split
from cdgraph.data.split import Split, cold_start, leave_one_out, predefined, ratio

__all__ = ["CrossDomainData", "Split", "as_list", "cold_start", "leave_one_out", "predefined", "ratio", "split"]
