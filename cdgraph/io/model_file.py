"""The saved-model file format: what :meth:`CrossDomainRecommender.save
<cdgraph.models.graph.CrossDomainRecommender.save>` and ``FactorRecommender.save`` write and
:func:`load_model` reads.

A model file is one ``torch.save`` of a dict: a ``kind`` (``"CrossDomainRecommender"`` or
``"FactorRecommender"``), a ``format`` number, the configuration, domains, id maps
(:func:`ids_out`), training edges, weights and a ``sha256`` checksum (:func:`_digest`). It
holds only tensors, numbers, strings, lists and dicts, so :func:`load_model` reads it with
``torch.load(weights_only=True)``: a file carrying arbitrary pickled objects is refused and
nothing of it runs. The checksum is there because torch does not verify the CRC of a file's
zip members: bytes changed inside a tensor, an edited configuration or swapped id maps would
otherwise load silently as a model that recommends wrong items. Files are written
atomically (:func:`atomic_save`), so a failed save leaves the old file as it was.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from cdgraph.io.atomic import atomic_write
from cdgraph.data.interactions import CrossDomainData
from cdgraph.models.base import Recommender
from cdgraph.data.split import Split

if TYPE_CHECKING:
    from cdgraph.models.graph import CrossDomainRecommender

#: 2: the checksum covers the whole file; 1 (still read): only the weights and edges.
FORMAT_VERSION = 2


def save_model(model: CrossDomainRecommender, path: str | os.PathLike) -> None:
    """Write a fitted :class:`~cdgraph.models.graph.CrossDomainRecommender`'s weights,
    configuration, id maps and training graph to ``path`` (see the module docstring)."""
    data, ctx = model.data_, model.ctx_
    state = {
        "format": FORMAT_VERSION, "kind": "CrossDomainRecommender", "config": model.config(),
        "domains": data.domains, "name": data.name,
        "user_ids": ids_out(data.user_ids), "item_ids": {d: ids_out(data.item_ids[d]) for d in data.domains},
        "edges": {d: torch.from_numpy(np.stack(ctx.edges[d])) for d in data.domains},
        "state_dict": {k: v.cpu() for k, v in model.network_.state_dict().items()},
        "train_config": asdict(model.train_config_) if model.train_config_ else {},
    }
    write_model_file(state, path)


def write_model_file(state: dict[str, Any], path: str | os.PathLike) -> None:
    """Add the checksum of ``state`` (:func:`_digest`) and write it atomically to ``path``."""
    state["sha256"] = _digest(state)
    atomic_save(state, path)


def weights_digest(weights: dict[str, Tensor]) -> str:
    """The checksum of a training checkpoint: :func:`_digest_v1` over its network weights."""
    return _digest_v1({"state_dict": weights})


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


def _digest(state: dict[str, Any]) -> str:
    """sha256 over everything a saved state holds but the checksum itself, in key order:
    weights, edges, configuration, domains and id maps.

    torch does not verify the CRC of a checkpoint's zip members, so bytes changed
    inside a tensor would otherwise load silently as different weights; an edited
    configuration or swapped id maps would load as a model that recommends wrong items.
    """
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
            _feed_tensor(h, key, value)
        else:
            h.update(f"{key}:{type(value).__name__}:{value!r}\0".encode())

    for key in sorted(k for k in state if k != "sha256"):
        feed(key, state[key])
    return h.hexdigest()


def _digest_v1(state: dict[str, Any]) -> str:
    """sha256 over the weights and training edges only: the checksum of format-1 model
    files and of training checkpoints."""
    h = hashlib.sha256()
    for group in ("state_dict", "edges"):
        for key in sorted(state.get(group, {})):
            _feed_tensor(h, f"{group}/{key}", state[group][key])
    return h.hexdigest()


def _feed_tensor(h: Any, key: str, tensor: Tensor) -> None:
    h.update(f"{key}/{tensor.dtype}/{tuple(tensor.shape)}".encode())
    h.update(tensor.detach().cpu().reshape(-1).contiguous().view(torch.uint8).numpy().tobytes()
             if tensor.numel() else b"")


def atomic_save(obj: Any, path: str | os.PathLike) -> None:
    """``torch.save`` to a temporary file in the same folder, then rename over ``path``."""
    atomic_write(path, lambda fh: torch.save(obj, fh))


def load_model(path: str | os.PathLike, device: str = "cpu") -> Recommender:
    """Load a model saved with :meth:`CrossDomainRecommender.save
    <cdgraph.models.graph.CrossDomainRecommender.save>` (a :class:`~cdgraph.models.graph.CrossDomainRecommender`) or with the ``save`` of a factor model such as
    :class:`~cdgraph.models.GraphMix`, EMCDR or PTUPCDR (a
    :class:`~cdgraph.models.factors.FactorRecommender` that scores as it did).

    Reads with ``torch.load(weights_only=True)``: a file carrying arbitrary pickled
    objects is refused and nothing of it runs.
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
    if not isinstance(state, dict) or state.get("kind") not in ("CrossDomainRecommender", "FactorRecommender"):
        raise ValueError(f"{path!r} is not a cdgraph model file.")
    if state["kind"] == "FactorRecommender":
        from cdgraph.models.factors import FACTORS_FORMAT as current, load_factors
    else:
        current = FORMAT_VERSION
    if state.get("format") not in (1, current):
        raise ValueError(f"{path!r} has format {state.get('format')}; this cdgraph reads 1 to {current}.")
    if state.get("sha256") != (_digest if state["format"] == current else _digest_v1)(state):
        raise ValueError(f"{path!r} is corrupt: the checksum of its contents does not match the one "
                         f"written with them. Save the model again or fetch an intact copy.")
    try:
        if state["kind"] == "FactorRecommender":
            return load_factors(state)
        return _rebuild(state, device)
    except ValueError as exc:  # names what is wrong, e.g. a component that is not registered
        raise ValueError(f"Cannot load {path!r}: {exc}") from exc
    except (KeyError, IndexError, TypeError, AttributeError, RuntimeError) as exc:
        raise ValueError(f"Cannot load {path!r}: it is corrupt or not a cdgraph model ({type(exc).__name__}: "
                         f"{(str(exc).splitlines() or [''])[0][:200]}). Save the model again or fetch an "
                         f"intact copy.") from exc


def _rebuild(state: dict[str, Any], device: str) -> CrossDomainRecommender:
    """The fitted :class:`~cdgraph.models.graph.CrossDomainRecommender` of a checked
    :meth:`~cdgraph.models.graph.CrossDomainRecommender.save` state."""
    from cdgraph.models.graph import CrossDomainRecommender  # here: cdgraph.model imports this module

    cfg = state["config"]
    model = CrossDomainRecommender(device=device, **{k: v for k, v in cfg.items()})
    user_ids = ids_in(state["user_ids"], "user")
    item_ids = {d: ids_in(state["item_ids"][d], "item") for d in state["domains"]}
    frames = {d: pd.DataFrame({"user": e[0].numpy(), "item": e[1].numpy()}) for d, e in state["edges"].items()}
    data = CrossDomainData(frames, user_ids, item_ids, name=state.get("name"))
    empty = pd.DataFrame({"user": np.empty(0, np.int64), "item": np.empty(0, np.int64)})
    split = Split(data, cfg["target"], frames, empty, empty.copy(), kind="loaded")
    model._build(split, seed=0)
    model.network_.load_state_dict(state["state_dict"])
    model.network_.eval()
    return model
