"""Item texts (titles, descriptions) as feature matrices, through large-model embeddings.

What large models know about items enters the cross-domain graph as item features: a text
encoder turns ``list[str]`` into a float32 ``[n, d]`` matrix, one row per text, in order.

>>> from cdgraph import text
>>> x = text.encode(titles)                        # doctest: +SKIP
>>> x = text.encode(titles, "tfidf", dim=128)      # doctest: +SKIP
>>> x = text.encode(titles, my_llm_embed, name="my-llm-v1")  # doctest: +SKIP

Encoders (:data:`TEXT_ENCODERS`, by name, or yours with :func:`register_text_encoder`):

* ``"wordllama"`` (default): mean of LLM token embeddings (WordLlama), offline, CPU.
* ``"tfidf"``: TF-IDF plus truncated SVD (latent semantic analysis), seeded.
* ``"sentence-transformers"``: a sentence-transformers model already on this machine.
* a function ``f(list[str]) -> [n, d]`` (e.g. an LLM embedding service), or a precomputed
  matrix: checked (rows, dtype, finite values) like every encoder's output.

Results are cached on disk (:mod:`cdgraph.text.cache`). ``wordllama`` and ``tfidf`` need
``pip install "cdgraph[text]"``; ``import cdgraph.text`` itself does not.
"""
from __future__ import annotations

from cdgraph.text.base import TEXT_ENCODERS, TextEncoder, register_text_encoder
from cdgraph.text.cache import default_cache_dir
from cdgraph.text.encoding import encode, resolve_text_encoder
from cdgraph.text.lsa import TfidfEncoder
from cdgraph.text.sbert import SentenceTransformerEncoder
from cdgraph.text.user import CallableTextEncoder, PrecomputedTextEncoder
from cdgraph.text.word_llama import WordLlamaEncoder

__all__ = ["TEXT_ENCODERS", "CallableTextEncoder", "PrecomputedTextEncoder", "SentenceTransformerEncoder",
           "TextEncoder", "TfidfEncoder", "WordLlamaEncoder", "default_cache_dir", "encode",
           "register_text_encoder", "resolve_text_encoder"]
