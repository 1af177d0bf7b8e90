"""TF-IDF plus truncated SVD (latent semantic analysis): a light, deterministic baseline."""
from __future__ import annotations

from typing import Any

import numpy as np

from cdgraph.text.base import TextEncoder, l2_normalize, optional_module, package_version, \
    register_text_encoder


@register_text_encoder("tfidf")
class TfidfEncoder(TextEncoder):
    r"""Latent semantic analysis (Deerwester et al., "Indexing by Latent Semantic Analysis",
    JASIS 1990): the TF-IDF matrix of the texts, reduced by a truncated SVD.

    .. math::
        \mathbf{X} \approx \mathbf{U}_d \boldsymbol{\Sigma}_d \mathbf{V}_d^\top, \qquad
        \mathbf{E} = \mathbf{U}_d \boldsymbol{\Sigma}_d

    with :math:`\mathbf{X}` the sublinear TF-IDF matrix (scikit-learn's ``TfidfVectorizer``,
    rows of unit length) and the SVD by scikit-learn's randomized ``TruncatedSVD``, seeded.
    When there are no more than ``dim`` texts or terms, the SVD is exact and the columns
    beyond ``min(texts, terms)`` are zeros. The result is a function of the whole list
    (the vocabulary, IDF weights and components are fitted on the texts given): encode every
    item's text in one call. Needs ``pip install "cdgraph[text]"``.

    Args:
        dim (int): Output dimension. (default: 256)
        seed (int): Seed of the randomized SVD. (default: 0)
        normalize (bool): Scale each row to unit length. (default: True)
        min_df (int): Ignore terms found in fewer texts. (default: 1)
    """

    def __init__(self, dim: int = 256, seed: int = 0, normalize: bool = True, min_df: int = 1) -> None:
        if dim < 1:
            raise ValueError(f"tfidf: dim must be at least 1, got {dim}.")
        if min_df < 1:
            raise ValueError(f"tfidf: min_df must be at least 1, got {min_df}.")
        self.dim, self.seed, self.normalize, self.min_df = dim, seed, normalize, min_df

    def embed(self, texts: list[str]) -> np.ndarray:
        text_features = optional_module("sklearn.feature_extraction.text")
        vectorizer = text_features.TfidfVectorizer(min_df=self.min_df, sublinear_tf=True, dtype=np.float32)
        try:
            tfidf = vectorizer.fit_transform(texts)
        except ValueError:  # no term in any text (e.g. only one-letter words): nothing to say
            return np.zeros((len(texts), self.dim), dtype=np.float32)
        if min(tfidf.shape) > self.dim:
            decomposition = optional_module("sklearn.decomposition")
            svd = decomposition.TruncatedSVD(self.dim, algorithm="randomized", n_iter=7,
                                             random_state=self.seed)
            out = np.asarray(svd.fit_transform(tfidf), dtype=np.float32)
        else:
            out = self.exact_svd(tfidf.toarray())
        return l2_normalize(out) if self.normalize else out

    def exact_svd(self, dense: np.ndarray) -> np.ndarray:
        """:math:`\\mathbf{U}\\boldsymbol{\\Sigma}` of a small matrix, signs fixed as scikit-learn
        fixes them, padded with zero columns to ``dim``."""
        extmath = optional_module("sklearn.utils.extmath")
        u, s, vt = np.linalg.svd(dense.astype(np.float64), full_matrices=False)
        u, vt = extmath.svd_flip(u, vt, u_based_decision=False)
        k = min(self.dim, s.size)
        out = np.zeros((dense.shape[0], self.dim), dtype=np.float32)
        out[:, :k] = u[:, :k] * s[:k]
        return out

    def settings(self) -> dict[str, Any]:
        return {"dim": self.dim, "seed": self.seed, "normalize": self.normalize, "min_df": self.min_df,
                "sklearn_version": package_version("scikit-learn")}
