"""A sha256 checksum of a saved state, so that a damaged or edited file is refused on load.

torch does not verify the CRC of a file's zip members: bytes changed inside a tensor would
otherwise load silently as different weights, and an edited configuration or swapped id
maps as a model that recommends wrong items.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any

import torch
from torch import Tensor


def digest(state: dict[str, Any]) -> str:
    """sha256 over everything ``state`` holds but its own ``"sha256"`` key, in key order:
    tensors (dtype, shape and bytes), numbers, strings, and nested lists and dicts."""
    h = hashlib.sha256()

    def feed(key: str, value: Any) -> None:
        if isinstance(value, dict):
            h.update(f"{key}:dict:{len(value)}\0".encode())
            for k in sorted(value, key=str):
                feed(f"{key}/{k}", value[k])
        elif isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            h.update(f"{key}:strs:{len(value)}\0{json.dumps(value)}\0".encode())  # string ids, at once
        elif isinstance(value, (list, tuple)):
            h.update(f"{key}:list:{len(value)}\0".encode())
            for i, item in enumerate(value):
                feed(f"{key}/{i}", item)
        elif isinstance(value, Tensor):
            h.update(f"{key}/{value.dtype}/{tuple(value.shape)}".encode())
            h.update(value.detach().cpu().reshape(-1).contiguous().view(torch.uint8).numpy().tobytes()
                     if value.numel() else b"")
        else:
            h.update(f"{key}:{type(value).__name__}:{value!r}\0".encode())

    for key in sorted(k for k in state if k != "sha256"):
        feed(key, state[key])
    return h.hexdigest()
