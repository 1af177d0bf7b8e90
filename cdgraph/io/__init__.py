"""Files: atomic writes and the saved-model format."""
from __future__ import annotations
