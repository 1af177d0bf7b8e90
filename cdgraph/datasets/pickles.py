"""Reading pickled plain data without running any of it.

``pickle.load`` imports and calls whatever global a file names, so a tampered ``.pkl`` runs
arbitrary code while it is read. Some upstream datasets (LLMCDSR's item tables) ship plain
dicts of strings and integers, which need no global at all: :class:`PlainUnpickler` refuses
every global, so such a file either loads as data or fails before anything of it runs.
"""
from __future__ import annotations

import os
import pickle
from typing import Any

__all__ = ["PlainUnpickler", "read_plain_pickle"]


class PlainUnpickler(pickle.Unpickler):
    """An unpickler for plain data (dicts, lists, tuples, sets, strings, bytes, numbers, None):
    every global (class, function, extension code) is refused, so nothing can be called."""

    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"it names the global {module}.{name}, and only plain data "
                                     f"(no global at all) is accepted")


def read_plain_pickle(path: str | os.PathLike, dataset: str = "") -> Any:
    """The plain data pickled in ``path``, read with :class:`PlainUnpickler`.

    Raises:
        ValueError: the file is not a pickle of plain data (it names a global, is truncated
            or malformed); the message names the file. Nothing of the file was run.
    """
    label = f"Dataset {dataset!r}: file" if dataset else "File"
    try:
        with open(path, "rb") as fh:
            return PlainUnpickler(fh).load()
    except OSError:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure of a malformed pickle is a bad file
        raise ValueError(f"{label} {os.fspath(path)!r} was refused: it is not a pickle of plain data "
                         f"({type(exc).__name__}: {exc}); nothing of it was run. Replace it with the "
                         f"pinned upstream file.") from None
