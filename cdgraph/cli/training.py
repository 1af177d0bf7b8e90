"""``cdgraph train`` and ``cdgraph compare``: fit models and write a run directory."""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from cdgraph import __version__
from cdgraph.cli import config as cfg
from cdgraph.cli import pipeline, plots, report, rundir
from cdgraph.cli.config import CLIError
from cdgraph.evaluation.protocols import check_metric, valid_protocol
from cdgraph.graph import build_graph, graph_stats
from cdgraph.io.atomic import usual_mode

log = logging.getLogger(__name__)


def gather(args: argparse.Namespace, compare: bool = False) -> dict[str, dict[str, Any]]:
    """The resolved configuration of ``--config`` overridden by the flags given."""
    flags: dict[str, dict[str, Any]] = {}
    for dest, value in vars(args).items():
        if "." in dest and value is not None:
            section, key = dest.split(".", 1)
            flags.setdefault(section, {})[key] = cfg.check(section, key, value)
    for item in getattr(args, "model_options", None) or []:
        key, value = cfg.key_value(item)
        flags.setdefault("model", {})[key] = value
    flags = cfg.absolute_paths(flags, Path.cwd())
    base = cfg.read(args.config) if getattr(args, "config", None) else {}
    given = flags.get("data", {})
    if base.get("data") and ("dataset" in given or "files" in given):  # the flag's data source wins
        for key in ("dataset", "files", "user_col", "item_col", "rating_col", "time_col", "split_col", "sep"):
            base["data"].pop(key, None)
    return cfg.resolve(cfg.merge(base, flags), compare=compare)


def _header(command: str) -> str:
    return (f"Resolved configuration written by cdgraph {__version__}.\n"
            f"Repeat the run with: cdgraph {command} --config <this file>")


def _write_plots(folder: Path, history: pd.DataFrame | None, data, split, valid_metric: str,
                 notes: list[str]) -> dict[str, str]:
    """Draw the run's plots into ``folder/plots``; returns caption -> relative path."""
    if not plots.available():
        log.warning(plots.MISSING)
        notes.append(plots.MISSING)
        return {}

    drawn: dict[str, bytes] = {}
    if history is not None and len(history):
        drawn["Training loss"] = plots.loss_curve(history)
        drawn[f"Validation metrics ({valid_metric} selects the model)"] = plots.valid_curve(history, valid_metric)
    else:
        notes.append("This model has no training loop, so there are no training curves.")
    stats = graph_stats(build_graph("bipartite", split))
    drawn["Degree distribution per node type (training graph)"] = plots.degree_distribution(stats["degree"])
    drawn["User overlap between domains"] = plots.user_overlap(data.summary())
    names = ["loss.png", "valid.png"] if len(drawn) == 4 else []
    names += ["degree.png", "overlap.png"]
    out = {}
    for (caption, png), name in zip(drawn.items(), names):
        rundir.write_bytes(folder / rundir.PLOTS / name, png)
        out[caption] = f"{rundir.PLOTS}/{name}"
    return out


def train(args: argparse.Namespace) -> int:
    resume = getattr(args, "resume", None)
    if resume:  # the run's own configuration; only the epoch budget may grow
        given = [d.split(".", 1)[1] for d, v in vars(args).items()
                 if "." in d and v is not None and d != "train.epochs"]
        if given or args.config:
            raise CLIError(f"--resume continues a run with its own config.toml (only --epochs may "
                           f"change); drop {'--config' if args.config else '--' + given[0].replace('_', '-')}.")
        folder, config = rundir.open_run(resume)
        if args.__dict__.get("train.epochs"):
            config["train"]["epochs"] = args.__dict__["train.epochs"]
        config = cfg.resolve(config)
    else:
        config = gather(args)
    data = pipeline.load_data(config)
    split = pipeline.make_split(config, data)
    try:  # before the run directory exists: the metric that selects the model
        check_metric(pipeline.train_config(config).valid_metric, valid_protocol(split)[0],
                     groups=len(split.cold_users) > 0)
    except ValueError as exc:
        raise CLIError(f"valid_metric: {exc}") from None
    model = pipeline.model_of(config)
    name = config["model"]["name"]
    if not resume:
        folder = rundir.create(config["run"]["out"], name)
    config_text = cfg.dumps(config, header=_header("train"))
    rundir.write_text(folder / rundir.CONFIG, config_text)
    log.info("run directory %s", folder)
    print(f"run directory: {folder}", file=sys.stderr)

    seconds = pipeline.fit(model, split, config, run_dir=folder, resume=bool(resume))
    history = getattr(model, "history_", None)
    rundir.write_csv(folder / rundir.HISTORY, history if history is not None else pd.DataFrame(columns=["epoch", "loss"]))
    notes: list[str] = []
    model.save(folder / rundir.MODEL)
    usual_mode(folder / rundir.MODEL)
    metrics = pipeline.evaluate(model, split, config)
    metrics.update(pipeline.fit_summary(model), fit_seconds=round(seconds, 3), model=name)
    rundir.write_json(folder / rundir.METRICS, metrics)
    figures = _write_plots(folder, history, data, split, pipeline.train_config(config).valid_metric, notes)
    text = report.run_report(config, config_text, data.summary(), split.summary(), metrics, figures, notes)
    rundir.write_text(folder / rundir.REPORT, text)
    print(report.text_table(report.metrics_frame(metrics)))
    print(f"\nrun directory: {folder}")
    return 0


def compare(args: argparse.Namespace) -> int:
    config = gather(args, compare=True)
    data = pipeline.load_data(config)
    split = pipeline.make_split(config, data)
    protocol = args.protocol or ("sampled" if "dataset" in config["data"] else "full")
    metric = args.metric or pipeline.train_config(config).valid_metric
    models, seeds = config["compare"]["models"], config["compare"]["seeds"]
    try:  # mistakes before any training
        check_metric(metric, protocol, config["evaluate"]["k"], groups=len(split.cold_users) > 0)
    except ValueError as exc:
        raise CLIError(f"--metric: {exc}") from None
    built = {name: pipeline.model_of(config, name) for name in models}
    folder = rundir.create(config["run"]["out"], "compare")
    config_text = cfg.dumps(config, header=_header("compare"))
    rundir.write_text(folder / rundir.CONFIG, config_text)
    print(f"run directory: {folder}", file=sys.stderr)

    rows = []
    for name in models:
        for seed in seeds:
            model = built.pop(name, None) or pipeline.model_of(config, name)
            seconds = pipeline.fit(model, split, config, seed=seed)
            result = pipeline.evaluate(model, split, config, protocols=(protocol,))
            rows.append({"model": name, "seed": seed, "protocol": protocol, **result[protocol],
                         **{k: v for k, v in pipeline.fit_summary(model).items() if k == "source_weight"},
                         "fit_seconds": round(seconds, 3)})
            log.info("%s seed %d: %s", name, seed, result[protocol])
    runs = pd.DataFrame(rows)
    rundir.write_csv(folder / "compare.csv", runs)
    metric_cols = list(result[protocol])
    grouped = runs.groupby("model", sort=False)[metric_cols]
    mean, std = grouped.mean(), grouped.std(ddof=1) if len(seeds) > 1 else grouped.mean() * 0
    summary = mean.copy().astype(object)
    for col in metric_cols:
        summary[col] = [f"{m:.4f} ± {s:.4f}" for m, s in zip(mean[col], std[col])]
    notes: list[str] = []
    figure = None
    if plots.available():
        rundir.write_bytes(folder / "compare.png", plots.comparison(runs, metric))
        figure = "compare.png"
    else:
        log.warning(plots.MISSING)
        notes.append(plots.MISSING)
    text = report.compare_report(config, config_text, summary, runs, figure, metric, notes)
    rundir.write_text(folder / "compare.md", text)
    rundir.write_text(folder / rundir.REPORT, text)
    print(report.text_table(summary))
    print(f"\nrun directory: {folder}")
    return 0
