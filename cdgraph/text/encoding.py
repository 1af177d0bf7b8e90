"""One entry point: texts in, a float32 matrix out, through any encoder, cached on disk."""
from __future__ import annotations

import logging
import os
from typing import Any, Iterable

import numpy as np

from cdgraph.text.base import TEXT_ENCODERS, TextEncoder, as_texts
from cdgraph.text.cache import cache_key, default_cache_dir, entry_path, read_entry, write_entry
from cdgraph.text.postprocess import all_but_the_top
from cdgraph.text.user import CallableTextEncoder, PrecomputedTextEncoder

log = logging.getLogger(__name__)


def resolve_text_encoder(encoder: Any = "wordllama", **options: Any) -> TextEncoder:
    """The text encoder that ``encoder`` names, in the manner of the other registries.

    Args:
        encoder: A registered name (:data:`~cdgraph.text.TEXT_ENCODERS`: ``"wordllama"``,
            ``"tfidf"``, ``"sentence-transformers"`` or one of yours), a
            :class:`~cdgraph.text.TextEncoder` subclass or instance, a function
            ``f(list[str]) -> array-like [n, d]`` (:class:`~cdgraph.text.CallableTextEncoder`),
            or a precomputed matrix or a ``.npy`` file as a :class:`~pathlib.Path`
            (:class:`~cdgraph.text.PrecomputedTextEncoder`; a plain string is a name).
        **options: The encoder's options (e.g. ``dim=128``; ``name=`` for a function). An
            option it does not take is a TypeError listing those it takes.
    """
    if isinstance(encoder, (str, type)):
        return TEXT_ENCODERS.resolve(encoder, **options)
    if isinstance(encoder, TextEncoder):
        if options:
            raise TypeError(f"Options {sorted(options)} apply to a text encoder given by name or class; "
                            f"{encoder!r} is already made: set them when making it.")
        return encoder
    if callable(encoder):
        return TEXT_ENCODERS.resolve(CallableTextEncoder, fn=encoder, **options)
    if isinstance(encoder, (os.PathLike, list, tuple)) or hasattr(encoder, "__array__"):
        return TEXT_ENCODERS.resolve(PrecomputedTextEncoder, matrix=encoder, **options)
    raise TypeError(f"Cannot use a {type(encoder).__name__} as a text encoder: give a name "
                    f"({', '.join(TEXT_ENCODERS.names())}), a TextEncoder, a function "
                    f"f(list[str]) -> [n, d], or a precomputed matrix.")


def encode(texts: Iterable[str], encoder: Any = "wordllama", *, cache_dir: str | os.PathLike | None = None,
           cache: bool = True, remove_top: int | None | str = None, **options: Any) -> np.ndarray:
    """Embed ``texts`` (e.g. item titles) as a float32 matrix ``[len(texts), d]``, one row per
    text in the order given; empty texts give zero rows (a precomputed matrix is kept as is).

    >>> from cdgraph import text
    >>> x = text.encode(["green tea matcha powder", "cast iron skillet"])  # doctest: +SKIP
    >>> x.shape                                                             # doctest: +SKIP
    (2, 256)

    Args:
        texts: A list (or any iterable) of strings.
        encoder: See :func:`resolve_text_encoder`; the default, ``"wordllama"``, averages
            token embeddings of large language models and runs offline on a CPU.
        cache_dir (str or Path, optional): Folder of the disk cache. (default:
            ``~/.cache/cdgraph/text-embeddings``, under ``$XDG_CACHE_HOME`` when set; not
            under ``$CDGRAPH_DATA``, which may be a read-only mirror)
        cache (bool): Read and write the disk cache. An encoder is cached only when its
            identity is known (:meth:`~cdgraph.text.TextEncoder.settings`): a function only
            when given ``name=``, a precomputed matrix never. (default: True)
        remove_top (int, optional): Centre the rows over ``texts`` and remove this many leading
            principal directions (:func:`~cdgraph.text.postprocess.all_but_the_top`; 0 only
            centres), after the cache: the cache holds the encoder's own output. None keeps
            the encoder's output as it is; ``"auto"``, the encoder's own choice
            (:attr:`TextEncoder.remove_top <cdgraph.text.TextEncoder>`: 2 for ``wordllama``,
            None for the others, a function and a precomputed matrix), which is what the
            models' item content uses (:func:`cdgraph.graph.content.item_content`). The
            directions are estimated from ``texts``: give many (a catalogue), not a handful.
            (default: None)
        **options: The encoder's options, e.g. ``dim=128``.
    """
    if not (remove_top is None or remove_top == "auto" or isinstance(remove_top, int)):
        raise TypeError(f"remove_top must be an int, None or 'auto', got {remove_top!r}.")
    model = resolve_text_encoder(encoder, **options)
    out = _encode(as_texts(texts), model, cache_dir, cache)
    if remove_top == "auto":
        remove_top = model.remove_top
    return out if remove_top is None else all_but_the_top(out, remove_top)


def _encode(texts: list[str], model: TextEncoder, cache_dir: str | os.PathLike | None, cache: bool) -> np.ndarray:
    """``model(texts)``, through the disk cache when ``cache`` and the model's identity allow."""
    settings = model.settings() if cache else None
    if settings is None:
        return model(texts)
    key = cache_key(model, settings, texts)
    label = getattr(model, "registered_name", None) or getattr(model, "name", None) or type(model).__name__
    path = entry_path(default_cache_dir() if cache_dir is None else cache_dir, str(label), key)
    hit = read_entry(path, key, len(texts))
    if hit is not None:
        log.debug("Text embeddings of %d texts by %r read from %s.", len(texts), model, path)
        return hit
    log.info("Encoding %d texts with %r.", len(texts), model)
    out = model(texts)
    write_entry(path, key, out)
    return out
