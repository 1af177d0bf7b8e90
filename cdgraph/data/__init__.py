"""Cross-domain interaction data: :class:`CrossDomainData`, its checks, files and item features,
and splits."""
from __future__ import annotations

from cdgraph.data.interactions import CrossDomainData, as_list
from cdgraph.data import split
from cdgraph.data.split import Split, cold_start, leave_one_out, predefined, ratio
from cdgraph.data.scarcity import cold_items, thin_bridge, thin_bridge_split

__all__ = ["CrossDomainData", "Split", "as_list", "cold_items", "cold_start", "leave_one_out", "predefined",
           "ratio", "split", "thin_bridge", "thin_bridge_split"]
