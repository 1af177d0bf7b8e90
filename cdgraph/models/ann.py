"""Top-k retrieval over item embeddings for large catalogues: exact, or approximate with faiss.

faiss (Johnson, Douze and Jégou, "Billion-scale similarity search with GPUs", IEEE TBD 2019)
is an optional extra: ``pip install faiss-cpu``. Approximate search uses HNSW graphs
(Malkov and Yashunin, TPAMI 2018) by inner product, the score of the ``dot`` scorer.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

METHODS = ("exact", "hnsw")


class ItemIndex:
    """Inner-product top-k over a fixed set of item vectors.

    Args:
        items (Tensor or ndarray): ``[num_items, dim]`` item embeddings.
        method (str): ``"exact"`` (chunked matrix product and ``torch.topk``) or
            ``"hnsw"`` (faiss ``IndexHNSWFlat``). (default: ``"hnsw"``)
        m (int): HNSW neighbours per node. (default: 32)
        ef_search (int): HNSW search breadth; larger is slower and more exact. (default: 128)
    """

    def __init__(self, items: Tensor | np.ndarray, method: str = "hnsw", m: int = 32,
                 ef_search: int = 128) -> None:
        if method not in METHODS:
            raise ValueError(f"Unknown index method {method!r}; use one of {METHODS}.")
        vectors = items.detach().cpu().numpy() if isinstance(items, Tensor) else np.asarray(items)
        self.items = np.ascontiguousarray(vectors, dtype=np.float32)
        if self.items.ndim != 2 or not np.isfinite(self.items).all():
            raise ValueError("items must be a finite [num_items, dim] matrix.")
        self.method = method
        self._index = None
        if method == "hnsw":
            try:
                import faiss
            except ImportError:
                raise ImportError("method='hnsw' needs faiss: pip install faiss-cpu "
                                  "(or use method='exact').") from None
            self._index = faiss.IndexHNSWFlat(self.items.shape[1], m, faiss.METRIC_INNER_PRODUCT)
            self._index.hnsw.efSearch = ef_search
            self._index.add(self.items)

    def __len__(self) -> int:
        return self.items.shape[0]

    def search(self, queries: Tensor | np.ndarray, k: int, chunk: int = 1024) -> tuple[np.ndarray, np.ndarray]:
        """Scores and item indices ``[n, k]`` of the ``k`` best items per query (``-1`` pads)."""
        q = queries.detach().cpu().numpy() if isinstance(queries, Tensor) else np.asarray(queries)
        q = np.ascontiguousarray(q, dtype=np.float32)
        k = max(1, min(int(k), len(self)))
        if self._index is not None:
            if getattr(self._index.hnsw, "efSearch", k) < k:
                self._index.hnsw.efSearch = k
            scores, ids = self._index.search(q, k)
            return scores, ids.astype(np.int64)
        items = torch.from_numpy(self.items)
        out_s, out_i = [], []
        for start in range(0, q.shape[0], chunk):
            top = torch.topk(torch.from_numpy(q[start:start + chunk]) @ items.t(), k, dim=1)
            out_s.append(top.values.numpy())
            out_i.append(top.indices.numpy())
        if not out_s:
            return np.empty((0, k), np.float32), np.empty((0, k), np.int64)
        return np.concatenate(out_s), np.concatenate(out_i)

    def recall(self, queries: Tensor | np.ndarray, k: int = 10) -> float:
        """Share of the exact top-``k`` items that this index returns (1.0 for ``"exact"``)."""
        _, approx = self.search(queries, k)
        _, exact = ItemIndex(self.items, method="exact").search(queries, k)
        hits = [len(np.intersect1d(a[a >= 0], b)) for a, b in zip(approx, exact)]
        return float(np.sum(hits) / exact.size) if exact.size else 1.0
