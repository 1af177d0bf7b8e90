"""``cdgraph tune``: search a model's hyper-parameters with Optuna (:mod:`cdgraph.tune`) and write
a run directory: ``best.toml`` (the best trial's configuration, which ``cdgraph train --config``
trains), ``trials.csv``, ``plots/history.png``, ``plots/importance.png``, ``config.toml`` (the
search itself, which ``cdgraph tune --config`` repeats or continues) and ``report.md``.

The configuration is ``train``'s (``[data]``, ``[model]``, ``[train]``: a value given there or
by a flag is fixed, not searched) plus ``[tune]``: ``trials``, ``timeout``, ``storage``,
``study``, ``prune``, ``defaults`` and the space ``[tune.space]``.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from cdgraph import __version__
from cdgraph.cli import config as cfg
from cdgraph.cli import pipeline, report, rundir, training
from cdgraph.cli.config import CLIError
from cdgraph.train.config import parse
from cdgraph.tune import output
from cdgraph.tune.study import Tuner

BEST = "best.toml"
TRIALS = 20


def settings(args: argparse.Namespace) -> tuple[dict[str, Any], set[str]]:
    """The ``[tune]`` table (the config file's, flags on top) and the training options the user
    set (fixed in the search)."""
    base = cfg.read(args.config) if args.config else {}
    tune = dict(base.get("tune", {}))
    if "storage" in tune:
        tune["storage"] = absolute_sqlite(tune["storage"], Path(args.config).resolve().parent)
    for dest, value in vars(args).items():
        if dest.startswith("tune.") and value is not None:
            key = dest.split(".", 1)[1]
            tune[key] = absolute_sqlite(value, Path.cwd()) if key == "storage" else value
    fixed = set(base.get("train", {})) | {d.split(".", 1)[1] for d, value in vars(args).items()
                                          if d.startswith("train.") and value is not None}
    return tune, fixed


def absolute_sqlite(url: str, base: Path) -> str:
    """``sqlite:///study.db`` with its file made absolute (from ``base``), so that the run's
    ``config.toml`` continues the same study from any folder; other URLs as given."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or url[len(prefix):].startswith("/") or url.endswith(":memory:"):
        return url
    return prefix + str((base / url[len(prefix):]).resolve())


def tuner_of(config: dict[str, Any], tune: dict[str, Any], fixed: set[str], split: Any) -> Tuner:
    """The :class:`~cdgraph.tune.Tuner` of the resolved configuration and ``[tune]`` table."""
    data, model = config["data"], config["model"]
    name = tune.get("study") or f"{model['name']}-{data.get('dataset', 'files')}-{data['target']}"
    try:
        return Tuner(split, model["name"], space=tune.get("space"), defaults=tune.get("defaults", True),
                     model_options={k: v for k, v in model.items() if k != "name"},
                     train_options={k: parse(k, v) for k, v in config["train"].items() if k in fixed},
                     storage=tune.get("storage"), study_name=name, prune=tune.get("prune", True))
    except ImportError as exc:
        raise CLIError(str(exc)) from None


def tune(args: argparse.Namespace) -> int:
    config = training.gather(args)
    search, fixed = settings(args)
    data = pipeline.load_data(config)
    split = pipeline.make_split(config, data)
    tuner = tuner_of(config, search, fixed, split)
    trials = search.get("trials", TRIALS)
    search.update(trials=trials, study=tuner.study_name)
    folder = rundir.create(config["run"]["out"], f"tune-{config['model']['name']}")
    # [train] as given: an option written there is fixed, so the defaults filled in are left out
    given = {**config, "train": {k: v for k, v in config["train"].items() if k in fixed}, "tune": search}
    rundir.write_text(folder / rundir.CONFIG, cfg.dumps({s: v for s, v in given.items() if v}, header=(
        f"Hyper-parameter search written by cdgraph {__version__}.\nRepeat it (or continue it, with a "
        f"storage) with: cdgraph tune --config <this file>")))
    print(f"run directory: {folder}", file=sys.stderr)
    interrupted = False
    try:
        tuner.run(trials, timeout=search.get("timeout"))
    except KeyboardInterrupt:  # the finished trials are still written
        print("cdgraph tune: interrupted; writing the results of the finished trials", file=sys.stderr)
        interrupted = True
    files, notes = output.write(tuner, folder)
    if tuner.completed():
        files["Best configuration"] = write_best(tuner, config, folder)
    else:
        notes.append("No trial completed, so there is no best configuration.")
    rundir.write_text(folder / rundir.REPORT, tune_report(tuner, config, files, folder, notes))
    print(summary(tuner, folder))
    return 130 if interrupted else 0


def best_config(tuner: Tuner, config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``config`` with the best trial's options: what ``cdgraph train --config`` trains."""
    params = tuner.best_trial.params
    out = {section: dict(values) for section, values in config.items()}
    for name, value in params.items():
        section = tuner.dimensions[name].section
        out[section][name] = "none" if value is None and section == "train" else value
    return out


def write_best(tuner: Tuner, config: dict[str, Any], folder: Path) -> Path:
    best = tuner.best_trial
    header = (f"Best configuration of study {tuner.study_name!r}: trial {best.number}, "
              f"{tuner.config.valid_metric} = {best.value:.6f} on validation (cdgraph {__version__}).\n"
              f"Train it with: cdgraph train --config <this file>")
    return rundir.write_text(folder / BEST, cfg.dumps(best_config(tuner, config), header=header))


def _counts(tuner: Tuner) -> str:
    states = pd.Series([t.state.name.lower() for t in tuner.study.trials], dtype=object)
    return ", ".join(f"{n} {state}" for state, n in states.value_counts().items()) or "no trials"


def tune_report(tuner: Tuner, config: dict[str, Any], files: dict[str, Path], folder: Path,
                notes: list[str]) -> str:
    """The ``report.md`` of a search."""
    data, metric = config["data"], tuner.config.valid_metric
    source = data.get("dataset") or ", ".join(data["files"])
    lines = [f"# cdgraph tune: {config['model']['name']} on {source}, target `{data['target']}`", "",
             f"Study `{tuner.study_name}` ({tuner.storage or 'in memory'}): {len(tuner.study.trials)} "
             f"trials ({_counts(tuner)}), each scored by {metric} on validation (higher is better).", ""]
    space = pd.DataFrame([{"option": n, "section": f"[{d.section}]", "values": d.describe()}
                          for n, d in tuner.dimensions.items()], columns=["option", "section", "values"])
    lines += ["## Search space", "", report.markdown_table(space, index=False), ""]
    if tuner.completed():
        best = tuner.best_trial
        lines += [f"## Best trial: {best.number}, {metric} = {best.value:.4f}", "",
                  f"Its configuration is `{BEST}`: `cdgraph train --config {BEST}` trains it.", ""]
        if best.params:
            values = [f"{v:.6g}" if isinstance(v, float) else str(v) for v in best.params.values()]
            table = pd.DataFrame({"option": list(best.params), "value": values})
            lines += [report.markdown_table(table, index=False), ""]
    plots = {caption: path for caption, path in files.items() if path.suffix == ".png"}
    for caption, path in plots.items():
        lines += [f"## {caption}", "", f"![{caption}]({path.relative_to(folder).as_posix()})", ""]
    lines += [f"Every trial is in `{output.TRIALS}`."]
    if notes:
        lines += ["", "## Notes", ""] + [f"- {n}" for n in notes]
    return "\n".join(lines) + "\n"


def summary(tuner: Tuner, folder: Path) -> str:
    """What the terminal shows at the end: the best trial and where everything is."""
    lines = [f"study {tuner.study_name!r}: {len(tuner.study.trials)} trials ({_counts(tuner)})"]
    if tuner.completed():
        best = tuner.best_trial
        lines.append(f"best trial {best.number}: {tuner.config.valid_metric} = {best.value:.4f} "
                     f"on validation")
        lines += [f"  {k} = {v!r}" for k, v in best.params.items()]
        lines.append(f"train it: cdgraph train --config {folder / BEST}")
    lines.append(f"\nrun directory: {folder}")
    return "\n".join(lines)
