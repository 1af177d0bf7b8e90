"""Text embeddings from the token embedding tables of large language models (WordLlama)."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from cdgraph.text.base import TextEncoder, l2_normalize, optional_module, package_version, \
    register_text_encoder

CONFIG = "l2_supercat"
SHIPPED_DIM = 256


@lru_cache(maxsize=4)
def load_wordllama(dim: int = SHIPPED_DIM) -> Any:
    """The WordLlama model shipped inside the installed ``wordllama`` wheel, truncated to ``dim``.

    Loaded with ``disable_download=True`` and ``cache_dir`` set to the installed package's
    folder: ``WordLlama.load`` finds the weights in ``<package>/weights`` and the tokenizer
    in ``<cache_dir>/tokenizers``, so no file is looked for anywhere else and nothing is ever
    downloaded. Loaded once per process and dimension.
    """
    module = optional_module("wordllama")
    folder = Path(module.__file__).resolve().parent
    try:
        return module.WordLlama.load(config=CONFIG, dim=SHIPPED_DIM, cache_dir=folder, disable_download=True,
                                     trunc_dim=None if dim == SHIPPED_DIM else dim)
    except FileNotFoundError as exc:
        raise FileNotFoundError(
            f"wordllama {package_version('wordllama')} at {folder} lacks the {CONFIG} {SHIPPED_DIM}-dim "
            f"weights or tokenizer that its wheel ships ({exc}); cdgraph never downloads them: reinstall "
            f'it with pip install --force-reinstall --no-deps wordllama.') from exc


@register_text_encoder("wordllama")
class WordLlamaEncoder(TextEncoder):
    r"""Average of LLM token embeddings: the default text encoder.

    WordLlama (Miller, 2024, `github.com/dleemiller/WordLlama
    <https://github.com/dleemiller/WordLlama>`_, MIT) extracts the token embedding table of
    large language models (its ``l2_supercat`` model: the Llama 2 vocabulary, with the
    concatenated codebooks of models sharing that tokenizer, Llama 2 70B and Phi-3 medium
    among them), trains a small projection of it with a Matryoshka objective, and embeds a
    text as the mean of its tokens' vectors:

    .. math::
        \mathbf{e}(t) = \frac{1}{|t|} \sum_{w \in \mathrm{tok}(t)} \mathbf{W}_{w,\,:d}

    The 256-dimensional table (16 MB) ships inside the ``wordllama`` wheel and runs on the
    CPU with numpy only; it is loaded from the installed package and never downloaded.
    Needs ``pip install "cdgraph[text]"``.

    Means of token vectors share a large common direction, so the models' item content
    post-processes them (``remove_top = 2``: centred over the whole catalogue, the two leading
    principal directions removed, :func:`~cdgraph.text.postprocess.all_but_the_top`);
    ``text_options={"remove_top": None}`` keeps the raw means. :func:`cdgraph.text.encode`
    returns the raw means unless given ``remove_top``.

    Args:
        dim (int): 64, 128 or 256: the leading columns of the Matryoshka table. (default: 256)
        normalize (bool): Scale each row to unit length (cosine geometry). (default: True)
        batch_size (int): Texts tokenised and pooled at once; texts are sorted by length
            first, so that a batch pads little. Does not change the result. (default: 512)
    """

    DIMS = (64, 128, 256)
    remove_top = 2

    def __init__(self, dim: int = SHIPPED_DIM, normalize: bool = True, batch_size: int = 512) -> None:
        if dim not in self.DIMS:
            raise ValueError(f"wordllama: dim={dim!r} is not available offline; choose one of {self.DIMS} "
                             f"(leading columns of the {SHIPPED_DIM}-dim table shipped in the wheel).")
        if batch_size < 1:
            raise ValueError(f"wordllama: batch_size must be at least 1, got {batch_size}.")
        self.dim, self.normalize, self.batch_size = dim, normalize, batch_size

    def embed(self, texts: list[str]) -> np.ndarray:
        model = load_wordllama(self.dim)
        order = np.argsort([len(text) for text in texts], kind="stable")
        pooled = model.embed([texts[i] for i in order], norm=False, batch_size=self.batch_size)
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        out[order] = pooled
        return l2_normalize(out) if self.normalize else out

    def settings(self) -> dict[str, Any]:
        return {"config": CONFIG, "dim": self.dim, "normalize": self.normalize,
                "wordllama_version": package_version("wordllama")}
