"""PNG plots of a run: training curves, the data's degree distributions and user overlap,
and a comparison bar chart.

matplotlib is optional (``pip install "cdgraph[plot]"``): it is imported inside each
function, with the Agg backend (no display needed). Without it, :func:`available` is
False and the command line writes everything else and says that plots were skipped.
Each function returns the PNG bytes; the caller writes them atomically.
"""
from __future__ import annotations

import io

import numpy as np
import pandas as pd

MISSING = ('matplotlib is not installed, so no plots were drawn; install it with '
           'pip install "cdgraph[plot]" (or pip install matplotlib).')


def available() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        raise RuntimeError(MISSING) from None
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    return plt


def _integer_epochs(ax) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png", dpi=110)
    _pyplot().close(fig)
    return buffer.getvalue()


def loss_curve(history: pd.DataFrame, title: str = "") -> bytes:
    """Training loss per epoch (and per-domain losses when the history has them)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    columns = ["loss"] + [c for c in history.columns if c.startswith("loss/")]
    for column in columns:
        if column in history:
            ax.plot(history["epoch"], history[column], marker="o", label=column)
    ax.set_xlabel("epoch")
    ax.set_ylabel("training loss")
    _integer_epochs(ax)
    ax.set_title(title or "Training loss")
    ax.grid(alpha=0.3)
    ax.legend()
    return _png(fig)


def valid_curve(history: pd.DataFrame, metric: str, title: str = "") -> bytes:
    """Validation metrics per epoch; ``metric`` (the one that selects the model) in bold."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7.4, 4.2))
    columns = [c for c in history.columns if c.startswith("valid/")]
    for column in columns:
        main = column == f"valid/{metric}"
        ax.plot(history["epoch"], history[column], marker="o" if main else ".",
                linewidth=2.5 if main else 1.0, alpha=1.0 if main else 0.6, label=column[len("valid/"):])
    if not columns:
        ax.text(0.5, 0.5, "no validation data", ha="center", va="center", transform=ax.transAxes)
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation metric")
    _integer_epochs(ax)
    ax.set_title(title or f"Validation ({metric} selects the model)")
    ax.grid(alpha=0.3)
    if columns:
        ax.legend(fontsize="small", loc="center left", bbox_to_anchor=(1.01, 0.5))
    return _png(fig)


def degree_distribution(degree: pd.DataFrame, title: str = "") -> bytes:
    """Number of nodes per degree, one line per node type, on log-log axes.

    ``degree`` is :func:`cdgraph.graph.graph_stats`'s ``degree`` frame (index degree,
    one column per node type).
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for node_type in degree.columns:
        counts = degree[node_type]
        counts = counts[(counts > 0) & (counts.index > 0)]
        ax.loglog(counts.index.to_numpy(), counts.to_numpy(), marker=".", linestyle="-",
                  alpha=0.8, label=f"{node_type} ({int(degree[node_type].sum())} nodes)")
    ax.set_xlabel("degree (distinct neighbours)")
    ax.set_ylabel("number of nodes")
    ax.set_title(title or "Degree distribution per node type (training graph)")
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    return _png(fig)


def user_overlap(summary: pd.DataFrame, title: str = "") -> bytes:
    """Users per domain and shared between each pair of domains, as an annotated matrix.

    ``summary`` is :meth:`cdgraph.CrossDomainData.summary` (columns ``shared_<domain>``;
    the diagonal is each domain's users).
    """
    plt = _pyplot()
    domains = list(summary.index)
    matrix = summary[[f"shared_{d}" for d in domains]].to_numpy(dtype=float)
    fig, ax = plt.subplots(figsize=(2.2 + 1.4 * len(domains), 1.8 + 1.2 * len(domains)))
    top = matrix.max() if matrix.size else 0
    image = ax.imshow(matrix, cmap="Blues", vmin=0, vmax=max(1.0, top))
    fig.colorbar(image, ax=ax, label="users")
    ax.set_xticks(range(len(domains)), domains)
    ax.set_yticks(range(len(domains)), domains)
    for i in range(len(domains)):
        for j in range(len(domains)):
            share = matrix[i, j] / max(1.0, matrix[i, i])
            label = f"{int(matrix[i, j])}" + ("" if i == j else f"\n{share:.0%} of {domains[i]}")
            ax.text(j, i, label, ha="center", va="center", fontsize="small",
                    color="white" if matrix[i, j] > 0.6 * top else "black")
    ax.set_title(title or "Users per domain (diagonal) and shared", fontsize="medium")
    return _png(fig)


def comparison(table: pd.DataFrame, metric: str, title: str = "") -> bytes:
    """Mean ``metric`` per model with error bars (standard deviation over seeds).

    ``table`` has one row per (model, seed) run and a column ``metric``.
    """
    plt = _pyplot()
    stats = table.groupby("model", sort=False)[metric].agg(["mean", "std", "count"])
    fig, ax = plt.subplots(figsize=(max(4.8, 1.3 * len(stats) + 2), 4.2))
    x = np.arange(len(stats))
    errors = stats["std"].fillna(0.0).to_numpy()
    bars = ax.bar(x, stats["mean"].to_numpy(), yerr=errors, capsize=6, color="tab:blue", alpha=0.8)
    for bar, (_, row), err in zip(bars, stats.iterrows(), errors):
        ax.annotate(f"{row['mean']:.4f}", (bar.get_x() + bar.get_width() / 2, bar.get_height() + err),
                    textcoords="offset points", xytext=(0, 8), ha="center", fontsize="small")
    ax.set_xticks(x, list(stats.index), rotation=15)
    ax.set_ylabel(metric)
    runs = int(stats["count"].max()) if len(stats) else 0
    ax.set_title(title or f"{metric} on test (mean ± std over {runs} seed{'s' if runs != 1 else ''})")
    ax.grid(alpha=0.3, axis="y")
    ax.set_ylim(0, max(1e-9, float((stats["mean"] + np.nan_to_num(errors)).max())) * 1.2)
    return _png(fig)
