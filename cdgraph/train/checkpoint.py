"""Training checkpoints: what a resumed fit needs to end exactly like an uninterrupted one.

A checkpoint file is one ``torch.save`` of a dict holding only tensors, numbers, strings,
lists and dicts (read back with ``torch.load(weights_only=True)``), written atomically
after every epoch and after every phase:

* ``model`` and ``train``: the model's configuration and the training options, which a
  resuming fit must repeat (only :data:`~cdgraph.train.config.RESUMABLE_CHANGES` may differ);
* ``fingerprint``: sizes, id maps and the interactions trained and validated on
  (:func:`data_fingerprint`), so that a checkpoint of other data or another split is refused;
* ``done``: every finished phase by its path (its weights and history, or a search's
  scores and winner);
* ``running``: the path and the loop state of the phase under way, if any;
* ``sha256``: a checksum of all the above (:func:`cdgraph.io.digest.digest`).
"""
from __future__ import annotations

import hashlib
import logging
import os
from typing import Any

import numpy as np
import pandas as pd
import torch

from cdgraph.io.atomic import atomic_save
from cdgraph.io.digest import digest
from cdgraph.train.config import RESUMABLE_CHANGES

log = logging.getLogger(__name__)

KIND = "cdgraph-checkpoint"
#: 2: one file for every phase of a model (format 1, of single-loop models, was never released).
FORMAT = 2


class Checkpoint:
    """The checkpoint of one fit: read (and checked) when resuming, rewritten as it goes.

    Args:
        path (str): The file.
        header (dict): ``model``, ``train`` and ``fingerprint`` of this fit.
    """

    def __init__(self, path: str | os.PathLike, header: dict[str, Any]) -> None:
        self.path = os.fspath(path)
        self.header = header
        self.done: dict[str, Any] = {}
        self.running: dict[str, Any] | None = None

    @staticmethod
    def is_checkpoint(path: str | os.PathLike) -> bool:
        """Whether ``path`` holds a cdgraph training checkpoint (read safely; unreadable: no)."""
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception:  # torch raises UnpicklingError / RuntimeError / OSError variants
            return False
        return isinstance(state, dict) and state.get("kind") == KIND

    def protect(self) -> None:
        """Refuse to overwrite an existing file that is not a training checkpoint."""
        if os.path.exists(self.path) and not self.is_checkpoint(self.path):
            raise ValueError(f"checkpoint={self.path!r} exists and is not a cdgraph training checkpoint, "
                             f"which fit would overwrite; choose another path or delete the file.")

    def load(self) -> bool:
        """Read the file into :attr:`done` / :attr:`running` after checking that it belongs to
        this fit; False when there is no file yet."""
        if not os.path.exists(self.path):
            log.info("resume: no checkpoint at %r yet; training from the start.", self.path)
            return False
        try:
            state = torch.load(self.path, map_location="cpu", weights_only=True)
        except Exception as exc:  # torch raises UnpicklingError / RuntimeError variants
            raise ValueError(f"Cannot resume from {self.path!r}: it is not a checkpoint readable with "
                             f"weights_only=True ({type(exc).__name__}: "
                             f"{(str(exc).splitlines() or [''])[0][:200]}).") from None
        if not isinstance(state, dict) or state.get("kind") != KIND:
            raise ValueError(f"{self.path!r} is not a cdgraph training checkpoint.")
        if state.get("format") != FORMAT:
            raise ValueError(f"{self.path!r} has checkpoint format {state.get('format')}; this cdgraph "
                             f"reads {FORMAT}. Train afresh (resume=False).")
        if state.get("sha256") != digest(state):
            raise ValueError(f"{self.path!r} is corrupt: its checksum does not match its contents; "
                             f"train afresh (resume=False).")
        check_fingerprint(state["fingerprint"], self.header["fingerprint"], self.path)
        if state["model"] != self.header["model"]:
            diff = sorted(k for k in set(state["model"]) | set(self.header["model"])
                          if state["model"].get(k) != self.header["model"].get(k))
            raise ValueError(f"Checkpoint {self.path!r} was made by a model with another configuration "
                             f"({', '.join(diff)} differ); build the model as it was or train afresh "
                             f"(resume=False).")
        check_train_config(state["train"], self.header["train"], self.path)
        self.done, self.running = dict(state["done"]), state["running"]
        log.info("resume: %r holds %d finished phase(s)%s.", self.path, len(self.done),
                 f"; {self.running['path']!r} at epoch {self.running['loop']['epoch']}"
                 if self.running else "")
        return True

    def write(self) -> None:
        """Write the checkpoint atomically (the old file stays whole if this fails)."""
        state = {"kind": KIND, "format": FORMAT, **self.header, "done": self.done, "running": self.running}
        state["sha256"] = digest(state)
        atomic_save(state, self.path)


# ------------------------------------------------------------------ random number generators
def rng_state(gen: torch.Generator, device: torch.device | str = "cpu") -> dict[str, Any]:
    """The states of the batch generator ``gen``, torch's global generator(s) and numpy's
    global generator, as tensors and numbers."""
    name, keys, pos, has_gauss, cached = np.random.get_state()
    state: dict[str, Any] = {
        "batches": gen.get_state(), "torch": torch.get_rng_state(),
        "numpy": {"keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "cached_gaussian": float(cached)}}
    if torch.device(device).type == "cuda" and torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any], gen: torch.Generator, device: torch.device | str = "cpu") -> None:
    """Restore what :func:`rng_state` recorded."""
    gen.set_state(state["batches"])
    torch.set_rng_state(state["torch"])
    np_state = state["numpy"]
    np.random.set_state(("MT19937", np_state["keys"].numpy().astype(np.uint32), np_state["pos"],
                         np_state["has_gauss"], np_state["cached_gaussian"]))
    if torch.device(device).type == "cuda" and torch.cuda.is_available():
        if "cuda" not in state:
            log.warning("the checkpoint was written on CPU; CUDA random state is not restored, "
                        "so this run will not repeat an uninterrupted one exactly.")
        else:
            torch.cuda.set_rng_state_all(state["cuda"])


# ------------------------------------------------------------------ what must agree
def data_fingerprint(split: Any) -> dict[str, Any]:
    """What a checkpoint must agree on with the split resuming it: sizes, id maps, the
    training interactions of every domain and the validation pairs (sha256 each)."""
    data = split.data

    def hashed(*arrays: np.ndarray) -> str:
        h = hashlib.sha256()
        for a in arrays:
            h.update(np.ascontiguousarray(a).tobytes())
        return h.hexdigest()

    def ids(index: pd.Index) -> str:
        return hashlib.sha256("\x1f".join(map(str, index)).encode()).hexdigest()

    return {
        "target": split.target, "num_users": int(data.num_users),
        "num_items": {d: int(data.num_items(d)) for d in data.domains},
        "ids": hashlib.sha256((ids(data.user_ids) + "".join(ids(data.item_ids[d]) for d in data.domains))
                              .encode()).hexdigest(),
        "train": {d: hashed(f["user"].to_numpy(np.int64), f["item"].to_numpy(np.int64))
                  for d, f in sorted(split.train.items())},
        "valid": hashed(split.valid["user"].to_numpy(np.int64), split.valid["item"].to_numpy(np.int64)),
    }


def check_fingerprint(saved: dict[str, Any], current: dict[str, Any], where: str) -> None:
    """Raise ``ValueError`` naming what differs between two :func:`data_fingerprint` results."""
    def sizes(fp: dict[str, Any]) -> str:
        items = ", ".join(f"{d} {n}" for d, n in fp["num_items"].items())
        return f"{fp['num_users']} users / {items} items"

    advice = "resume only on the data and split it was made on, or train afresh (resume=False)."
    if saved["target"] != current["target"]:
        raise ValueError(f"Checkpoint {where!r} was made for target {saved['target']!r}; this split's "
                         f"target is {current['target']!r}; {advice}")
    if saved["num_users"] != current["num_users"] or saved["num_items"] != current["num_items"]:
        raise ValueError(f"Checkpoint {where!r} was made on data with {sizes(saved)}; this split has "
                         f"{sizes(current)}; {advice}")
    if saved["ids"] != current["ids"]:
        raise ValueError(f"Checkpoint {where!r} was made on data with other user/item ids (id maps "
                         f"differ); {advice}")
    changed = sorted(d for d in set(saved["train"]) | set(current["train"])
                     if saved["train"].get(d) != current["train"].get(d))
    if changed:
        raise ValueError(f"Checkpoint {where!r}: train interactions differ (domain "
                         f"{', '.join(map(repr, changed))}): another split or seed; {advice}")
    if saved["valid"] != current["valid"]:
        raise ValueError(f"Checkpoint {where!r}: validation interactions differ (another split); {advice}")


def check_train_config(saved: dict[str, Any], current: dict[str, Any], where: str) -> None:
    """Raise ``ValueError`` if the training options differ from a checkpoint's other than
    :data:`~cdgraph.train.config.RESUMABLE_CHANGES`."""
    diff = [f"{k}={saved.get(k)!r} in the checkpoint, {v!r} now" for k, v in current.items()
            if k not in RESUMABLE_CHANGES and saved.get(k) != v]
    if diff:
        raise ValueError(f"Checkpoint {where!r} was trained with other options: {'; '.join(diff)}. "
                         f"Resume with the same options (only {', '.join(RESUMABLE_CHANGES)} may change) "
                         f"or train afresh (resume=False).")
