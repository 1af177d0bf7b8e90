"""The saved-model file: what ``model.save`` writes and :func:`load_model` reads.

A model file is one ``torch.save`` of a dict: a ``kind`` (the ``file_kind`` of the model's
class, which :data:`MODEL_FILES` maps back to the class that loads it), a ``format`` number, the target, domains and id maps
(:func:`ids_out`), the target's training pairs (the items a recommendation leaves out),
what the model's ``get_state()`` returns, and a ``sha256`` checksum of all of it
(:func:`cdgraph.io.digest.digest`). It holds only tensors, numbers, strings, lists and
dicts, so :func:`load_model` reads it with ``torch.load(weights_only=True)``: a file
carrying arbitrary pickled objects is refused and nothing of it runs. Files are written
atomically, so a failed save leaves the old file as it was.
"""
from __future__ import annotations

import os
from typing import Any

import numpy as np
import pandas as pd
import torch

from cdgraph.data.interactions import CrossDomainData
from cdgraph.data.split import Split
from cdgraph.io.atomic import atomic_save
from cdgraph.io.digest import digest
from cdgraph.registry import Registry

#: 3: one layout for every model kind (formats 1 and 2, of cdgraph before 0.2, are not read).
FORMAT_VERSION = 3
#: kind -> model class with ``from_state(state, data, device)``; models register themselves.
MODEL_FILES: Registry = Registry("model file kind")


def save_model(model: Any, path: str | os.PathLike) -> None:
    """Write a fitted model's state, id maps and seen target items to ``path`` atomically."""
    data = model.data_
    kind = getattr(model, "file_kind", None)
    if kind not in MODEL_FILES:
        raise ValueError(f"{type(model).__name__} cannot be saved: give its class a file_kind, "
                         f"get_state and from_state, and MODEL_FILES.add(file_kind, the class).")
    seen = model._seen[["user", "item"]].to_numpy(np.int64).T.copy()
    state = {"format": FORMAT_VERSION, "kind": kind, "target": model.target, "domains": data.domains,
             "name": data.name, "user_ids": ids_out(data.user_ids),
             "item_ids": {d: ids_out(data.item_ids[d]) for d in data.domains},
             "seen": torch.from_numpy(seen), "model": model.get_state()}
    state["sha256"] = digest(state)
    atomic_save(state, path)


def load_model(path: str | os.PathLike, device: str = "cpu") -> Any:
    """Load a model saved with ``model.save(path)``, as the class its ``kind`` names.

    Reads with ``torch.load(weights_only=True)``: a file carrying arbitrary pickled objects is
    refused and nothing of it runs; a file whose checksum does not match is refused too.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        raise ValueError(f"{path!r} is a folder; give the model file in it (e.g. a run "
                         f"directory's model.pt).")
    if not os.path.isfile(path):
        raise ValueError(f"Model file {path!r} does not exist.")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises UnpicklingError / RuntimeError variants
        raise ValueError(f"Refused to load {path!r}: it is not a cdgraph model file readable with "
                         f"weights_only=True ({type(exc).__name__}: {(str(exc).splitlines() or [''])[0][:200]}).") from None
    if not isinstance(state, dict) or "kind" not in state or "format" not in state:
        raise ValueError(f"{path!r} is not a cdgraph model file.")
    if state["format"] != FORMAT_VERSION:
        raise ValueError(f"{path!r} has format {state['format']}; this cdgraph reads format {FORMAT_VERSION}. "
                         f"Train and save the model again with this version.")
    if state.get("sha256") != digest(state):
        raise ValueError(f"{path!r} is corrupt: the checksum of its contents does not match the one "
                         f"written with them. Save the model again or fetch an intact copy.")
    try:
        cls = MODEL_FILES.get(state["kind"])
        return cls.from_state(state["model"], data_of(state), state["target"], device)
    except ValueError as exc:  # names what is wrong, e.g. a component that is not registered
        raise ValueError(f"Cannot load {path!r}: {exc}") from exc
    except (KeyError, IndexError, TypeError, AttributeError, RuntimeError) as exc:
        raise ValueError(f"Cannot load {path!r}: it is corrupt or not a cdgraph model ({type(exc).__name__}: "
                         f"{(str(exc).splitlines() or [''])[0][:200]}). Save the model again or fetch an "
                         f"intact copy.") from exc


def data_of(state: dict[str, Any]) -> CrossDomainData:
    """The id maps and seen target pairs of a model file as :class:`CrossDomainData` (the
    other domains without interactions)."""
    target = state["target"]
    empty = {"user": np.empty(0, np.int64), "item": np.empty(0, np.int64)}
    frames = {d: pd.DataFrame(empty) for d in state["domains"]}
    frames[target] = pd.DataFrame({"user": state["seen"][0].numpy(), "item": state["seen"][1].numpy()})
    return CrossDomainData(frames, ids_in(state["user_ids"], "user"),
                           {d: ids_in(state["item_ids"][d], "item") for d in state["domains"]},
                           name=state.get("name"))


def split_of(data: CrossDomainData, target: str, train: dict[str, pd.DataFrame]) -> Split:
    """A split of ``data`` whose training part is ``train`` and with nothing held out, for
    rebuilding a loaded model's training graph."""
    empty = pd.DataFrame({"user": np.empty(0, np.int64), "item": np.empty(0, np.int64)})
    frames = {d: train.get(d, empty) for d in data.domains}
    return Split(data, target, frames, empty, empty.copy(), kind="loaded")


def ids_out(index: pd.Index) -> dict[str, Any]:
    """An id map as the file stores it: int64 ids as a tensor, any other ids as strings."""
    if pd.api.types.is_integer_dtype(index.dtype):
        return {"kind": "int", "values": torch.from_numpy(index.to_numpy(np.int64, copy=True))}
    return {"kind": "str", "values": [str(v) for v in index]}


def ids_in(spec: dict[str, Any], name: str) -> pd.Index:
    """The id map :func:`ids_out` stored, as an index called ``name``."""
    if spec["kind"] == "int":
        return pd.Index(spec["values"].numpy(), name=name)
    return pd.Index(list(spec["values"]), dtype=object, name=name)
