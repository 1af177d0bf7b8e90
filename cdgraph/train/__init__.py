"""Training: the loop shared by every model, its checkpoints, memory check and allocator."""
from __future__ import annotations
