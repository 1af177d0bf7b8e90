"""Item content in the cross-domain graph: content vectors per domain and the content bridge.

Knowledge fusion puts what a language model knows about an item (its title encoded by a text
encoder, :mod:`cdgraph.text`) or any precomputed item vector into the graph, as node
features of the item node types, in the manner of content-based cross-domain recommenders
(e.g. CDRIB's and UniCDR's shared item spaces; LLM embeddings of titles as in LLMCDSR, Xin et
al., TOIS 2025, and URLLM, Shen et al., 2024):

* :func:`item_content`: one float32 matrix per domain from the data's item features: text
  columns encoded by one text encoder over every domain's texts at once (so that a fitted
  encoder such as TF-IDF gives all domains one space), numeric and vector columns used as they
  are, side by side. Items without features get a zero row.
* :func:`unit_rows`: the rows scaled to unit length, the geometry the models and the bridge use.
* :func:`content_bridge`: cross-domain item-item edges between items whose content vectors are
  nearest neighbours (cosine similarity), which join the domains through what items *are*
  rather than through the users they share, so that they work where no user is shared:

  .. math::
      (i, j) \\in E_{ab} \\iff i \\in I_a,\\ j \\in I_b,\\ \\cos(c_i, c_j) \\ge \\tau
      \\text{ and } (j \\in \\mathrm{top}_k^{b}(i) \\text{ or } i \\in \\mathrm{top}_k^{a}(j))

  (``mutual=True``: both). The search is exact: faiss ``IndexFlatIP`` when faiss is installed,
  else a chunked matrix product with :func:`torch.topk` (no Python loop over items).
"""
from __future__ import annotations

import logging
from typing import Any, Mapping, Sequence

import numpy as np
import torch

from cdgraph.data.features import NUMBER, TEXT, VECTOR
from cdgraph.data.interactions import CrossDomainData
from cdgraph.text import TEXT_ENCODERS, encode

log = logging.getLogger(__name__)

__all__ = ["item_content", "unit_rows", "nearest_neighbors", "content_bridge", "graph_content",
           "check_content_option", "check_bridge_options", "check_text_encoder", "BRIDGE_DEFAULTS"]

#: Options of the content bridge and their defaults.
BRIDGE_DEFAULTS: dict[str, Any] = {"k": 10, "threshold": 0.5, "mutual": False}


def check_content_option(owner: str, content: Any) -> None:
    """``content`` is None, ``"auto"``, a column name or a list of column names; else a TypeError."""
    if content is None or isinstance(content, str):
        return
    if isinstance(content, (list, tuple)) and content and all(isinstance(c, str) for c in content):
        return
    raise TypeError(f"{owner}: content must be None (id-only), 'auto' (every item feature column), a "
                    f"column name or a list of column names, got {content!r}.")


def check_bridge_options(owner: str, bridge: Any) -> dict[str, Any] | None:
    """``bridge`` (None, True or a dict of :data:`BRIDGE_DEFAULTS` keys) with its defaults filled."""
    if bridge is None or bridge is False:
        return None
    if bridge is True:
        return dict(BRIDGE_DEFAULTS)
    if not isinstance(bridge, Mapping):
        raise TypeError(f"{owner}: content_bridge must be None or a dict such as {BRIDGE_DEFAULTS}, "
                        f"got {bridge!r}.")
    unknown = sorted(set(bridge) - set(BRIDGE_DEFAULTS))
    if unknown:
        raise ValueError(f"{owner}: content_bridge has unknown key(s) {unknown}; it takes "
                         f"{sorted(BRIDGE_DEFAULTS)}.")
    out = {**BRIDGE_DEFAULTS, **bridge}
    k, threshold = out["k"], out["threshold"]
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"{owner}: content_bridge k must be a positive integer, got {k!r}.")
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not -1 <= threshold <= 1:
        raise ValueError(f"{owner}: content_bridge threshold is a cosine similarity in [-1, 1], got "
                         f"{threshold!r}.")
    out["k"], out["threshold"], out["mutual"] = int(k), float(threshold), bool(out["mutual"])
    return out


def item_content(data: CrossDomainData, columns: str | Sequence[str] | None = "auto",
                 text_encoder: Any = "wordllama", text_options: dict[str, Any] | None = None
                 ) -> dict[str, np.ndarray] | None:
    """One float32 content matrix ``[num_items(d), width]`` per domain, or None without features.

    Args:
        data (CrossDomainData): The data whose item features are read.
        columns: ``"auto"`` (or None) for every item feature column, else a column name or a
            list of names; a domain uses those of them it has. Text columns are joined per item
            and encoded; numbers and vectors follow, as they are.
        text_encoder: A text encoder for :func:`cdgraph.text.encode` (a registered name, a
            function ``f(list[str]) -> [n, d]``, a :class:`~cdgraph.text.TextEncoder`).
        text_options (dict, optional): Its options and :func:`~cdgraph.text.encode`'s
            (``dim``, ``cache_dir``, ``cache``, ``name``, ``remove_top``...). ``remove_top``
            defaults to ``"auto"``: the encoder's own post-processing (WordLlama's vectors are
            centred over all domains' items together and lose their two leading principal
            directions, :func:`~cdgraph.text.postprocess.all_but_the_top`).

    Raises:
        ValueError: a named column that no domain has, or numeric parts of different widths in
            different domains (the models project every domain with one shared layer).
    """
    wanted = None if columns in (None, "auto") else ([columns] if isinstance(columns, str) else list(columns))
    kinds = {d: data.item_feature_columns(d) for d in data.domains}
    if wanted is not None:
        known = {c for k in kinds.values() for c in k}
        missing = [c for c in wanted if c not in known]
        if missing:
            raise ValueError(f"content={columns!r}: no domain has the item feature column(s) {missing}; the "
                             f"columns are {kinds}.")
    chosen = {d: [c for c in k if wanted is None or c in wanted] for d, k in kinds.items()}
    texts = {d: [c for c in cols if kinds[d][c] == TEXT] for d, cols in chosen.items()}
    numeric = {d: [c for c in cols if kinds[d][c] in (NUMBER, VECTOR)] for d, cols in chosen.items()}
    if not any(chosen.values()):
        return None
    parts: dict[str, list[np.ndarray]] = {d: [] for d in data.domains}
    if any(texts.values()):
        if text_encoder is None:
            raise ValueError(f"The item features have text columns {texts} but text_encoder is None; give a "
                             f"text encoder (e.g. 'wordllama'), or choose numeric columns with content=[...].")
        joined = {d: data.item_text(d, cols) if cols else [""] * data.num_items(d) for d, cols in texts.items()}
        flat = [t for d in data.domains for t in joined[d]]
        matrix = encode(flat, text_encoder, **{"remove_top": "auto", **(text_options or {})})
        start = 0
        for d in data.domains:
            parts[d].append(matrix[start:start + data.num_items(d)])
            start += data.num_items(d)
    widths = {d: data.item_vectors(d, cols)[0].shape[1] for d, cols in numeric.items() if cols}
    if len(set(widths.values())) > 1:
        raise ValueError(f"The numeric item features have different widths per domain ({widths}); one "
                         f"content projection is shared by every domain, so give every domain vectors of "
                         f"the same width, or choose columns with content=[...].")
    if widths:
        width = next(iter(widths.values()))
        for d in data.domains:
            parts[d].append(data.item_vectors(d, numeric[d])[0] if numeric[d]
                            else np.zeros((data.num_items(d), width), np.float32))
    return {d: np.ascontiguousarray(np.concatenate(p, axis=1), dtype=np.float32) for d, p in parts.items()}


def unit_rows(vectors: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Each row scaled to unit L2 norm, :math:`\\tilde c_i = c_i / \\lVert c_i \\rVert` (zero rows,
    items without content, stay zero); float32 copies."""
    out = {}
    for d, x in vectors.items():
        x = np.array(x, dtype=np.float32, copy=True)
        norms = np.linalg.norm(x, axis=1, keepdims=True)
        np.divide(x, norms, out=x, where=norms > 0)
        out[d] = x
    return out


def nearest_neighbors(query: np.ndarray, base: np.ndarray, k: int, threshold: float = -1.0,
                      chunk: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each query row's ``k`` base rows of largest inner product, kept when at least ``threshold``.

    Exact: faiss ``IndexFlatIP`` when faiss is installed (and ``chunk`` is None), else query
    chunks multiplied with the base and :func:`torch.topk` (ties to the lower base index).

    Returns:
        ``(query index, base index, similarity)`` arrays, sorted by query then decreasing similarity.
    """
    query = np.ascontiguousarray(query, dtype=np.float32)
    base = np.ascontiguousarray(base, dtype=np.float32)
    k = min(int(k), len(base))
    if k == 0 or len(query) == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.float32)
    faiss = _faiss() if chunk is None else None
    if faiss is not None:
        index = faiss.IndexFlatIP(base.shape[1])
        index.add(base)
        sims, ids = index.search(query, k)
    else:
        step = chunk or max(1, (1 << 24) // len(base))
        b = torch.from_numpy(base)
        sims_parts, id_parts = [], []
        for start in range(0, len(query), step):
            top = torch.topk(torch.from_numpy(query[start:start + step]) @ b.t(), k, dim=1)
            sims_parts.append(top.values.numpy())
            id_parts.append(top.indices.numpy())
        sims, ids = np.concatenate(sims_parts), np.concatenate(id_parts)
    rows = np.repeat(np.arange(len(query), dtype=np.int64), k)
    sims, ids = sims.reshape(-1), ids.reshape(-1).astype(np.int64)
    keep = (ids >= 0) & (sims >= threshold)
    return rows[keep], ids[keep], sims[keep].astype(np.float32)


def content_bridge(vectors: Mapping[str, np.ndarray], k: int = 10, threshold: float = 0.5,
                   mutual: bool = False) -> dict[tuple[str, str], tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Cross-domain item-item edges between content nearest neighbours (see the module docstring).

    Args:
        vectors (dict[str, ndarray]): Content per domain (same width); rows are scaled to unit
            length here, so the similarity is the cosine. Zero rows (no content) get no edge.
        k (int): Neighbours each item chooses in each other domain. (default: 10)
        threshold (float): Least cosine similarity of an edge. (default: 0.5)
        mutual (bool): Keep a pair only when both items chose each other (at most ``k`` per item
            and other domain), rather than when either did. (default: False)

    Returns:
        ``{(a, b): (items of a, items of b, cosine)}`` for every pair of domains ``a`` before
        ``b`` (in the order of ``vectors``), each undirected edge once, sorted.
    """
    unit = unit_rows(vectors)
    domains = list(unit)
    has = {d: np.flatnonzero(np.abs(x).sum(1) > 0) for d, x in unit.items()}
    out = {}
    for n, a in enumerate(domains):
        for b in domains[n + 1:]:
            ia, ib = has[a], has[b]
            q, j, s = nearest_neighbors(unit[a][ia], unit[b][ib], k, threshold)
            forward = np.stack([ia[q], ib[j]])
            q, j, s2 = nearest_neighbors(unit[b][ib], unit[a][ia], k, threshold)
            backward = np.stack([ia[j], ib[q]])
            n_b = max(len(unit[b]), 1)
            keys_f, keys_b = forward[0] * n_b + forward[1], backward[0] * n_b + backward[1]
            keys = np.intersect1d(keys_f, keys_b) if mutual else np.union1d(keys_f, keys_b)
            rows, cols = keys // n_b, keys % n_b
            sims = np.einsum("ij,ij->i", unit[a][rows], unit[b][cols]).astype(np.float32)
            out[(a, b)] = (rows.astype(np.int64), cols.astype(np.int64), sims)
            log.info("content bridge %s-%s: %d item-item edges (k=%d, threshold=%.2f).", a, b, len(rows), k,
                     threshold)
    return out


def _faiss() -> Any:
    """faiss when installed, else None (the exact search then runs in torch)."""
    try:
        import faiss
    except ImportError:
        return None
    return faiss


def check_text_encoder(owner: str, encoder: Any) -> None:
    """``encoder`` is a registered text encoder name or an object :func:`cdgraph.text.encode` takes."""
    if encoder is None or not isinstance(encoder, str):
        return
    if encoder not in TEXT_ENCODERS:
        raise ValueError(f"{owner}: unknown text_encoder {encoder!r}; choose one of {TEXT_ENCODERS.names()}, "
                         f"or give a function f(list[str]) -> [n, d] or a TextEncoder.")


def graph_content(data: CrossDomainData, columns: str | Sequence[str] | None, text_encoder: Any = "wordllama",
                  text_options: dict[str, Any] | None = None, bridge: dict[str, Any] | None = None
                  ) -> tuple[dict[str, np.ndarray] | None, dict[tuple[str, str], tuple[np.ndarray, ...]]]:
    """What a graph model's context gets: unit-row content per domain (:func:`item_content`, then
    :func:`unit_rows`) and the :func:`content_bridge` edges when ``bridge`` (its options) is given.

    ``(None, {})`` when ``columns`` is None, or ``"auto"`` and the data has no item features.
    """
    if columns is None:
        return None, {}
    raw = item_content(data, columns, text_encoder, text_options)
    if raw is None:
        log.info("content=%r: the data has no item features; the model is id-only.", columns)
        return None, {}
    unit = unit_rows(raw)
    return unit, (content_bridge(unit, **bridge) if bridge else {})
