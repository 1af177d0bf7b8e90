"""Post-processing of text embeddings before they enter the graph.

Averaged token embeddings (``wordllama``) are anisotropic: their rows share a large common
direction, so any two titles look alike and cosine neighbours crowd around that direction.
:func:`all_but_the_top` removes the shared part; ``benchmarks/results/content.md`` compares the
models with and without it.
"""
from __future__ import annotations

import numpy as np


def all_but_the_top(x: np.ndarray, top: int = 2) -> np.ndarray:
    r"""Centre the rows and remove their ``top`` leading principal directions (Mu & Viswanath,
    "All-but-the-Top: Simple and Effective Postprocessing for Word Representations", ICLR 2018):

    .. math::
        \tilde x_i = (x_i - \mu) - \sum_{k \le D} (u_k^\top (x_i - \mu))\, u_k

    with :math:`\mu` the mean of the non-zero rows and :math:`u_1 \dots u_D` the leading
    eigenvectors of their covariance. Zero rows (texts that were empty) stay zero.

    Args:
        x (ndarray): ``[n, d]`` embeddings, one row per text.
        top (int): :math:`D`, the number of leading directions removed; 0 only centres.
            (default: 2)

    Returns:
        A new float32 ``[n, d]`` matrix.
    """
    top = int(top)
    if top < 0:
        raise ValueError(f"top must be at least 0, got {top}.")
    x = np.asarray(x, dtype=np.float64)
    has = np.abs(x).sum(1) > 0
    out = np.zeros_like(x)
    if has.sum() < 2:  # nothing to estimate a mean and directions from
        out[has] = x[has]
        return out.astype(np.float32)
    rows = x[has] - x[has].mean(0)
    if top:
        cov = rows.T @ rows / len(rows)
        _, vectors = np.linalg.eigh(cov)  # ascending eigenvalues
        lead = vectors[:, ::-1][:, :min(top, x.shape[1])]
        rows = rows - (rows @ lead) @ lead.T
    out[has] = rows
    return out.astype(np.float32)
