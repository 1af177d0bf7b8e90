"""What a text encoder is: ``list[str] -> float32 [n, d]``, one row per text, in order.

Encoders are found by name through one :class:`~cdgraph.registry.Registry`,
:data:`TEXT_ENCODERS`; a user's own subclass registered with :func:`register_text_encoder`
is usable by name in :func:`cdgraph.text.encode` without any change to cdgraph::

    from cdgraph.text import TextEncoder, register_text_encoder

    @register_text_encoder("my-llm")
    class MyLLM(TextEncoder):
        def __init__(self, dim: int = 1024) -> None:
            self.dim = dim

        def embed(self, texts):          # the non-empty texts; array-like [len(texts), dim]
            ...

        def settings(self):              # everything that changes the output: enables the cache
            return {"dim": self.dim, "model": "my-llm-v2"}
"""
from __future__ import annotations

import importlib
import logging
from importlib import metadata
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from cdgraph.registry import Registry

TEXT_EXTRA = 'pip install "cdgraph[text]"'


class TextEncoder:
    """Base class of text encoders.

    A subclass implements :meth:`embed` (non-empty texts in, an array-like ``[n, d]`` out) and,
    to be cached on disk, :meth:`settings`. Calling the encoder checks both sides: the texts
    must be strings, and the result must have one finite row per text.

    Empty texts (``""`` or whitespace only) are never passed to :meth:`embed`: their row is the
    zero vector, for every encoder, so that an item without a title gets a defined feature that
    carries no signal.

    Attributes:
        dim (int or None): Output dimension when known before encoding (needed only when every
            text is empty).
        remove_top (int or None): The post-processing this encoder's output gets in the models'
            item content (``remove_top="auto"`` of :func:`cdgraph.text.encode`): centring and
            removing this many leading principal directions
            (:func:`~cdgraph.text.postprocess.all_but_the_top`); None for none. (default: None)
    """

    dim: int | None = None
    remove_top: int | None = None

    def embed(self, texts: list[str]) -> Any:  # pragma: no cover - interface
        """Embed non-empty ``texts``; return an array-like ``[len(texts), d]``."""
        raise NotImplementedError

    def settings(self) -> dict[str, Any] | None:
        """Every setting that changes the output (JSON-serialisable), used in the cache key;
        None (the default) means the encoder's identity is unknown and it is never cached."""
        return None

    def __call__(self, texts: Iterable[str]) -> np.ndarray:
        texts = as_texts(texts)
        filled = [i for i, text in enumerate(texts) if text.strip()]
        if not filled:
            if self.dim is None:
                raise ValueError(f"{self!r}: none of the {len(texts)} texts has content and the encoder's "
                                 f"dimension is unknown; pass dim=... or give at least one non-empty text.")
            return np.zeros((len(texts), self.dim), dtype=np.float32)
        what = repr(self) if len(filled) == len(texts) else \
            f"{self!r} (given the {len(filled)} non-empty of {len(texts)} texts)"
        out = check_embeddings(self.embed([texts[i] for i in filled]), len(filled), what=what,
                               positions=filled)
        if self.dim is not None and out.shape[1] != self.dim:
            raise ValueError(f"{self!r} returned {out.shape[1]} columns, expected dim={self.dim}.")
        if len(filled) == len(texts):
            return out
        full = np.zeros((len(texts), out.shape[1]), dtype=np.float32)
        full[filled] = out
        return full

    def __repr__(self) -> str:
        options = self.settings() or {}
        shown = ", ".join(f"{k}={v!r}" for k, v in options.items() if not k.endswith("_version"))
        return f"{type(self).__name__}({shown})"


TEXT_ENCODERS: Registry[TextEncoder] = Registry("text encoder", TextEncoder)

register_text_encoder: Callable[..., Callable[[type], type]] = TEXT_ENCODERS.register


def as_texts(texts: Iterable[str]) -> list[str]:
    """``texts`` as a list of ``str`` (any iterable of strings: a list, a tuple, a numpy array,
    a pandas Series); a TypeError names the first entry that is not a string."""
    if isinstance(texts, (str, bytes)):
        raise TypeError(f"texts must be a list of strings, not one {type(texts).__name__} "
                        f"({texts[:40]!r}); wrap it: [text].")
    try:
        out = list(texts)
    except TypeError:
        raise TypeError(f"texts must be a list of strings, got {type(texts).__name__}.") from None
    for i, text in enumerate(out):
        if not isinstance(text, str):
            raise TypeError(f"texts[{i}] is a {type(text).__name__} ({text!r:.40}), not a string; a missing "
                            f"title should be '' (e.g. pandas: titles.fillna('')), which encodes as zeros.")
    return [str(text) for text in out]


def check_embeddings(x: Any, rows: int, what: str = "the encoder",
                     positions: Sequence[int] | None = None) -> np.ndarray:
    """``x`` as a C-contiguous float32 ``[rows, d]`` array, or an error naming what is wrong.

    Args:
        x: An array-like (numpy array, torch tensor, nested lists) of real numbers.
        rows (int): The number of texts, one row each.
        what (str): Who produced ``x``, named in errors.
        positions (sequence of int, optional): The text index of each row, named in errors.
    """
    arr = as_matrix(x, rows, what)
    bad = np.flatnonzero(~np.isfinite(arr).all(axis=1))
    if bad.size:
        first = int(bad[0]) if positions is None else int(positions[bad[0]])
        raise ValueError(f"{what} gave NaN or infinite values in {bad.size} of {rows} rows (first: the "
                         f"row of text {first}); values beyond the float32 range also become infinite.")
    return arr


def as_matrix(x: Any, rows: int, what: str = "the encoder") -> np.ndarray:
    """:func:`check_embeddings` without the finiteness check: ``x`` as C-contiguous float32
    ``[rows, d]``, or an error naming what is wrong with its type or shape."""
    if hasattr(x, "detach"):  # a torch tensor, possibly on a device or with grad
        x = x.detach().cpu().numpy()
    try:
        arr = np.asarray(x)
    except (ValueError, TypeError) as exc:
        raise TypeError(f"{what} gave {type(x).__name__}, not a rectangular array: {exc}") from None
    if arr.dtype.kind not in "fiu":
        raise TypeError(f"{what} gave an array of dtype {arr.dtype}; embeddings must be real numbers "
                        f"(float32 preferred).")
    if arr.ndim != 2:
        raise ValueError(f"{what} gave an array of shape {arr.shape}; expected 2-D [n_texts, dim] "
                         f"(one row per text).")
    if arr.shape[0] != rows:
        raise ValueError(f"{what} gave {arr.shape[0]} rows for {rows} texts; expected one row per "
                         f"text, in the order given.")
    if arr.shape[1] == 0:
        raise ValueError(f"{what} gave {rows} rows of 0 columns; the dimension must be at least 1.")
    with np.errstate(over="ignore"):
        return np.ascontiguousarray(arr, dtype=np.float32)


def l2_normalize(x: np.ndarray) -> np.ndarray:
    """Rows of ``x`` scaled to unit length in place; zero rows stay zero."""
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    np.divide(x, norms, out=x, where=norms > 0)
    return x


def optional_module(name: str, install: str = TEXT_EXTRA) -> Any:
    """Import the optional package ``name``, or an ImportError saying how to install it.

    Some packages configure the root logger when imported (``logging.basicConfig``);
    the root logger's handlers and level are put back as they were, so that importing an
    encoder never changes the application's logging.
    """
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise ImportError(f"This text encoder needs the optional package {name.partition('.')[0]!r}, "
                          f"which is not installed: {install}") from exc
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def package_version(distribution: str) -> str | None:
    """The installed version of ``distribution`` (part of cache keys), None if absent."""
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None
