"""Aggregating per-row metrics, and a paired significance test for benchmark tables."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import torch

__all__ = ["summarize", "paired_test"]


def _as_numpy(x: Any) -> np.ndarray:
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def summarize(per_row: pd.DataFrame, groups: Mapping[str, Any] | None = None
              ) -> dict[str, float]:
    """Mean of every metric column (all numeric columns but ``rank``), overall and per group.

    Args:
        per_row (DataFrame): Output of :func:`full_ranking` or :func:`sampled_ranking`.
        groups (dict[str, mask], optional): Boolean masks over the rows (array, tensor or
            Series aligned by position), e.g. ``{"cold": is_cold, "warm": ~is_cold}``.

    Returns:
        ``{"NDCG@10": ..., "cold/NDCG@10": ..., ...}``; an empty group gives NaN.
    """
    cols = [c for c in per_row.columns
            if c != "rank" and pd.api.types.is_numeric_dtype(per_row[c])]
    values = per_row[cols].to_numpy(dtype=np.float64)
    out = dict(zip(cols, values.mean(0).tolist() if len(values) else [np.nan] * len(cols)))
    for name, mask in (groups or {}).items():
        m = _as_numpy(mask).astype(bool).ravel()
        if m.size != len(per_row):
            raise ValueError(f"group {name!r}: mask has {m.size} entries, per_row has "
                             f"{len(per_row)} rows")
        sub = values[m]
        means = sub.mean(0).tolist() if len(sub) else [np.nan] * len(cols)
        out.update({f"{name}/{c}": v for c, v in zip(cols, means)})
    return out


def paired_test(a: Any, b: Any, alternative: str = "two-sided") -> dict[str, float]:
    """Paired t-test of ``a`` against ``b`` (one value per seed / dataset, same order).

    :func:`scipy.stats.ttest_rel`; with ``alternative="greater"`` the hypothesis is that
    ``a`` beats ``b``. With six or more pairs the Wilcoxon signed-rank test
    (:func:`scipy.stats.wilcoxon`) is added as ``wilcoxon`` / ``wilcoxon_p``, since a
    t-test over a handful of seeds leans on normality. Identical inputs give NaN.

    Returns:
        ``{"t", "p", "mean_diff", "n"}`` (+ ``"wilcoxon"``, ``"wilcoxon_p"`` if n >= 6).
    """
    a, b = _as_numpy(a).astype(np.float64).ravel(), _as_numpy(b).astype(np.float64).ravel()
    if a.size != b.size or a.size < 2:
        raise ValueError(f"paired_test needs two equal-length samples of >= 2 values, "
                         f"got {a.size} and {b.size}")
    from scipy import stats  # a second to import: only when a test is asked for

    diff = a - b
    out = {"mean_diff": float(diff.mean()), "n": float(a.size)}
    if np.all(diff == diff[0]):  # zero variance: the t statistic is undefined
        out.update(t=np.nan, p=np.nan)
    else:
        res = stats.ttest_rel(a, b, alternative=alternative)
        out.update(t=float(res.statistic), p=float(res.pvalue))
    if a.size >= 6:
        if np.all(diff == 0):
            out.update(wilcoxon=np.nan, wilcoxon_p=np.nan)
        else:
            res = stats.wilcoxon(a, b, alternative=alternative)
            out.update(wilcoxon=float(res.statistic), wilcoxon_p=float(res.pvalue))
    return out
