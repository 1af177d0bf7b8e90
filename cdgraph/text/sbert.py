"""Sentence embeddings from a sentence-transformers model already on this machine."""
from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

from cdgraph.text.base import TextEncoder, optional_module, package_version, register_text_encoder

INSTALL = ("pip install sentence-transformers, then download the model once on a machine with network "
           "access (e.g. huggingface-cli download sentence-transformers/all-MiniLM-L6-v2)")


@lru_cache(maxsize=2)
def load_sentence_transformer(model: str, device: str) -> Any:
    """The sentence-transformers model ``model`` (a Hugging Face name in the local cache, or a
    folder), loaded with ``local_files_only=True``: it is never downloaded."""
    package = optional_module("sentence_transformers", INSTALL)
    try:
        return package.SentenceTransformer(model, device=device, local_files_only=True)
    except (OSError, ValueError, RuntimeError) as exc:
        raise FileNotFoundError(
            f"sentence-transformers model {model!r} could not be loaded from this machine's files "
            f"({type(exc).__name__}: {exc}); cdgraph never downloads models. If it is not here, download "
            f"it once (huggingface-cli download {model}, or SentenceTransformer({model!r}) with network "
            f"access) into the Hugging Face cache ($HF_HOME), or pass model= the path of a local "
            f"folder.") from exc


@register_text_encoder("sentence-transformers")
class SentenceTransformerEncoder(TextEncoder):
    """A pretrained transformer sentence encoder (Reimers and Gurevych, "Sentence-BERT",
    EMNLP 2019), through the ``sentence-transformers`` package, e.g. ``all-MiniLM-L6-v2``.

    Used only when the package is installed and the model is already on this machine (the
    Hugging Face cache or a local folder); it is loaded with ``local_files_only=True``, never
    downloaded. The cache key holds the model's name or path, not its files: pass
    ``cache=False`` to :func:`cdgraph.text.encode` after changing a local model in place.

    Args:
        model (str): Model name in the local Hugging Face cache, or a folder.
            (default: ``"sentence-transformers/all-MiniLM-L6-v2"``)
        normalize (bool): Scale each row to unit length. (default: True)
        batch_size (int): Texts per forward pass. (default: 64)
        device (str): Torch device. (default: ``"cpu"``)
    """

    def __init__(self, model: str = "sentence-transformers/all-MiniLM-L6-v2", normalize: bool = True,
                 batch_size: int = 64, device: str = "cpu") -> None:
        self.model, self.normalize, self.batch_size, self.device = model, normalize, batch_size, device

    @property
    def dim(self) -> int | None:  # type: ignore[override]
        model = load_sentence_transformer(self.model, self.device)
        dimension = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        dim = dimension()  # the newer name of the method, else the older one
        return None if dim is None else int(dim)

    def embed(self, texts: list[str]) -> np.ndarray:
        model = load_sentence_transformer(self.model, self.device)
        return model.encode(texts, batch_size=self.batch_size, convert_to_numpy=True,
                            normalize_embeddings=self.normalize, show_progress_bar=False)

    def settings(self) -> dict[str, Any]:
        return {"model": self.model, "normalize": self.normalize,
                "sentence_transformers_version": package_version("sentence-transformers")}
