"""Bring your own large model: embeddings from a user's function, or a precomputed matrix."""
from __future__ import annotations

import os
from typing import Any, Callable, Iterable

import numpy as np

from cdgraph.text.base import TextEncoder, as_matrix, as_texts, check_embeddings


class CallableTextEncoder(TextEncoder):
    """Texts embedded by a user's function ``fn(list[str]) -> array-like [n, d]``: e.g. an LLM
    embedding service, or a local model cdgraph does not wrap.

    The output is checked (one row per text, 2-D, real numbers, finite) and returned as
    float32. Empty texts are not sent to ``fn`` (their row is zeros).

    The disk cache of :func:`cdgraph.text.encode` cannot know what a function computes, so a
    callable is cached only when given a ``name``, which is then its whole identity: change
    the name whenever the output would change (another model, version or option), e.g.
    ``name="text-embedding-3-small@2024-01"``.

    Args:
        fn (callable): ``fn(texts) -> array-like [len(texts), d]``.
        name (str, optional): A stable identity for the cache; without it, never cached.
        dim (int, optional): The expected dimension: checked, and the width of the zero rows
            when every text is empty.
        batch_size (int, optional): Call ``fn`` on at most this many texts at a time (services
            limit a request's size); the results are stacked in order.
    """

    def __init__(self, fn: Callable[[list[str]], Any], name: str | None = None, dim: int | None = None,
                 batch_size: int | None = None) -> None:
        if not callable(fn):
            raise TypeError(f"fn must be callable, got {type(fn).__name__}.")
        if name is not None and (not isinstance(name, str) or not name.strip()):
            raise ValueError(f"name must be a non-empty string identifying the function's output, "
                             f"got {name!r}.")
        if batch_size is not None and batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}.")
        self.fn, self.name, self.dim, self.batch_size = fn, name, dim, batch_size

    def embed(self, texts: list[str]) -> np.ndarray:
        if self.batch_size is None or self.batch_size >= len(texts):
            return self.fn(texts)
        parts = [as_matrix(self.fn(texts[start:start + self.batch_size]),
                           len(texts[start:start + self.batch_size]), what=repr(self))
                 for start in range(0, len(texts), self.batch_size)]
        return np.concatenate(parts)

    def settings(self) -> dict[str, Any] | None:
        return None if self.name is None else {"name": self.name, "dim": self.dim}

    def __repr__(self) -> str:
        return f"CallableTextEncoder({getattr(self.fn, '__qualname__', self.fn)!s}, name={self.name!r})"


class PrecomputedTextEncoder(TextEncoder):
    """Embeddings the user already has (e.g. from an LLM, saved with ``np.save``), passed
    through with the checks every encoder's output gets: one row per text in the same order,
    2-D, real numbers, finite; returned as float32. Rows of empty texts are kept as given.

    Never cached (there is nothing to compute).

    Args:
        matrix: An array-like ``[n, d]``, or the path of a ``.npy`` file (read with
            ``allow_pickle=False``).
    """

    def __init__(self, matrix: Any) -> None:
        if isinstance(matrix, (str, os.PathLike)):
            matrix = np.load(os.fspath(matrix), allow_pickle=False)
        self.matrix = matrix

    @property
    def dim(self) -> int | None:  # type: ignore[override]
        shape = np.shape(self.matrix)
        return int(shape[1]) if len(shape) == 2 else None

    def __call__(self, texts: Iterable[str]) -> np.ndarray:
        texts = as_texts(texts)
        return check_embeddings(self.matrix, len(texts), what="the precomputed embedding matrix")

    def __repr__(self) -> str:
        return f"PrecomputedTextEncoder(shape={np.shape(self.matrix)})"
