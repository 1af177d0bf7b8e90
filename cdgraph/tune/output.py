"""A study's files: the trials table and the optimisation-history and parameter-importance
plots (``optuna.visualization.matplotlib``; matplotlib comes with ``cdgraph[tune]``), each
written atomically."""
from __future__ import annotations

import importlib.util
import io
import logging
import os
import warnings
from pathlib import Path
from typing import Any, Callable

from cdgraph.io.atomic import atomic_write

log = logging.getLogger(__name__)

TRIALS = "trials.csv"
HISTORY_PLOT = "plots/history.png"
IMPORTANCE_PLOT = "plots/importance.png"


def _png(draw: Callable[[], Any]) -> bytes:
    """PNG bytes of the matplotlib axes that ``draw()`` returns (Agg backend, no display)."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    with warnings.catch_warnings():  # optuna marks its matplotlib plots experimental
        warnings.simplefilter("ignore")
        axes = draw()
    figure = axes.figure
    figure.set_size_inches(8, 5)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    plt.close(figure)
    return buffer.getvalue()


def history_png(study: Any, metric: str) -> bytes:
    """The validation ``metric`` of every trial and the best so far, trial by trial."""
    from optuna.visualization import matplotlib as plots

    return _png(lambda: plots.plot_optimization_history(study, target_name=metric))


def importance_png(study: Any, completed: int, metric: str) -> bytes:
    """Each searched option's importance (fANOVA); a ``ValueError`` saying why there is none
    with fewer than two completed trials or nothing searched."""
    from optuna.visualization import matplotlib as plots

    if completed < 2:
        raise ValueError(f"Parameter importance needs at least 2 completed trials; the study has "
                         f"{completed}.")
    if not study.best_trial.params:
        raise ValueError("Parameter importance needs searched options; this study searched none.")
    try:
        return _png(lambda: plots.plot_param_importances(study, target_name=metric))
    except (RuntimeError, ValueError, ZeroDivisionError) as exc:  # e.g. every trial drew the same values
        raise ValueError(f"Parameter importance could not be computed: {exc}") from None


def write(tuner: Any, folder: str | os.PathLike) -> tuple[dict[str, Path], list[str]]:
    """Write ``trials.csv`` and the plots of ``tuner``'s study into ``folder``; returns the
    files written (by what they show) and notes on what was skipped."""
    folder = Path(folder)
    written: dict[str, Path] = {}
    notes: list[str] = []
    buffer = io.StringIO()
    tuner.trials_frame().to_csv(buffer, index=False)
    written["Trials"] = atomic_write(folder / TRIALS, lambda fh: fh.write(buffer.getvalue().encode("utf-8")))
    if importlib.util.find_spec("matplotlib") is None:
        notes.append("matplotlib is not installed, so no plots were drawn: pip install 'cdgraph[tune]'.")
        return written, notes
    completed = len(tuner.completed())
    if completed:
        png = history_png(tuner.study, tuner.config.valid_metric)
        written["Optimisation history"] = atomic_write(folder / HISTORY_PLOT, lambda fh: fh.write(png))
    else:
        notes.append("No trial completed, so there is no optimisation history to draw.")
    try:
        png = importance_png(tuner.study, completed, tuner.config.valid_metric)
        written["Parameter importance"] = atomic_write(folder / IMPORTANCE_PLOT, lambda fh: fh.write(png))
    except ValueError as exc:
        notes.append(f"{exc} No importance plot was drawn.")
    for note in notes:
        log.warning(note)
    return written, notes
