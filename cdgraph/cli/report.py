"""Markdown for run reports and the command line's text tables (no extra dependency)."""
from __future__ import annotations

import math
from typing import Any, Sequence

import pandas as pd


def _cell(value: Any, digits: int = 4) -> str:
    if isinstance(value, float):
        return "" if math.isnan(value) else (f"{value:.{digits}f}" if abs(value) < 1e6 else f"{value:.4g}")
    return str(value).replace("|", "\\|").replace("\n", " ")


def markdown_table(frame: pd.DataFrame, index: bool = True, digits: int = 4) -> str:
    """A GitHub-flavoured markdown table of ``frame``."""
    frame = frame.reset_index() if index else frame
    header = [str(c) for c in frame.columns]
    rows = [[_cell(v, digits) for v in row] for row in frame.itertuples(index=False)]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def text_table(frame: pd.DataFrame, index: bool = True, digits: int = 4) -> str:
    """An aligned plain-text table for the terminal."""
    frame = frame.reset_index() if index else frame
    cells = [[str(c) for c in frame.columns]]
    cells += [[_cell(v, digits) for v in row] for row in frame.itertuples(index=False)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths)))
             for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def metrics_frame(metrics: dict[str, Any], protocols: Sequence[str] = ("sampled", "full")) -> pd.DataFrame:
    """One row per metric, one column per protocol (blank where a protocol lacks the metric)."""
    present = [p for p in protocols if p in metrics]
    names: list[str] = []
    for p in present:
        names += [m for m in metrics[p] if m not in names]
    frame = pd.DataFrame({p: [metrics[p].get(m, float("nan")) for m in names] for p in present},
                         index=pd.Index(names, name="metric"))
    return frame


def protocol_note(metrics: dict[str, Any]) -> str:
    parts = []
    if "sampled" in metrics:
        fewest = metrics.get("num_negatives_fewest")
        parts.append(f"sampled: each test item ranked against {metrics.get('num_negatives')} "
                     f"sampled negatives" + ("" if fewest is None else
                                             f" (as few as {fewest} where the target has fewer "
                                             f"items the user has not trained on)"))
    if "full" in metrics:
        parts.append("full: ranked against every target item the user has not trained on")
    return "; ".join(parts) + "."


def run_report(config: dict[str, Any], config_text: str, data_summary: pd.DataFrame,
               split_summary: pd.DataFrame, metrics: dict[str, Any], plots: dict[str, str],
               notes: Sequence[str] = ()) -> str:
    """The ``report.md`` of a training run; ``plots`` maps a caption to a relative path."""
    data, model = config["data"], config["model"]
    source = data.get("dataset") or ", ".join(f"{d}: `{f}`" for d, f in data["files"].items())
    lines = [f"# cdgraph run: {model['name']} on {source}, target `{data['target']}`", ""]
    lines += ["## Dataset", "", markdown_table(data_summary), "",
              f"Split `{data['split']}` (seed {data['split_seed']}) of the target `{data['target']}`:", "",
              markdown_table(split_summary), ""]
    lines += ["## Metrics (test)", "", protocol_note(metrics), "",
              markdown_table(metrics_frame(metrics)), ""]
    fitted = {k: v for k, v in metrics.items() if k in ("source_weight", "epochs_run", "fit_seconds")}
    if fitted:
        lines += ["Chosen during training: " + ", ".join(f"{k} = {_cell(v)}" for k, v in fitted.items()) + ".", ""]
    if plots:
        lines += ["## Plots", ""]
        for caption, path in plots.items():
            lines += [f"### {caption}", "", f"![{caption}]({path})", ""]
    lines += ["## Configuration", "", "Repeat this run with `cdgraph train --config config.toml`.", "",
              "```toml", config_text.rstrip(), "```", ""]
    if notes:
        lines += ["## Notes", ""] + [f"- {n}" for n in notes] + [""]
    return "\n".join(lines)


def compare_report(config: dict[str, Any], config_text: str, summary: pd.DataFrame,
                   runs: pd.DataFrame, plot: str | None, metric: str, notes: Sequence[str] = ()) -> str:
    data = config["data"]
    source = data.get("dataset") or ", ".join(data["files"])
    lines = [f"# cdgraph comparison on {source}, target `{data['target']}`", "",
             f"Split `{data['split']}` (seed {data['split_seed']}); each model trained with seeds "
             f"{config['compare']['seeds']}; mean ± standard deviation over seeds, on test.", "",
             markdown_table(summary), ""]
    if plot:
        lines += [f"![{metric}]({plot})", ""]
    lines += ["## Every run", "", markdown_table(runs, index=False), "",
              "## Configuration", "", "```toml", config_text.rstrip(), "```", ""]
    if notes:
        lines += ["## Notes", ""] + [f"- {n}" for n in notes] + [""]
    return "\n".join(lines)
