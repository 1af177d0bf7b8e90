"""The ``cdgraph`` command line's parser: one sub-command per task, flags derived from the
library (training flags from :class:`cdgraph.TrainConfig`, models from the registry)."""
from __future__ import annotations

import argparse
import re
from typing import Any, Callable, Sequence

from cdgraph.cli import benchmark, commands, training, tuning
from cdgraph.cli import config as cfg
from cdgraph.data.split import SPLITS
from cdgraph.train.config import default as train_default, options as train_options

USAGE_ERROR = 2


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line (no usage block) with exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(USAGE_ERROR, f"{self.prog}: error: {one_line(message)} (see '{self.prog} --help')\n")


def one_line(message: Any) -> str:
    return re.sub(r"\s*\n\s*", " ", str(message)).strip()


def _flag_type(check: Callable[[Any], Any]) -> Callable[[str], Any]:
    def convert(value: str) -> Any:
        try:
            return check(value)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    convert.__name__ = getattr(check, "__name__", "value")
    return convert


def _option(parser: argparse.ArgumentParser, flags: Sequence[str], section: str, key: str,
            help: str, metavar: str | None = None, element: Callable[[Any], Any] | None = None) -> None:
    """A flag that sets ``[section] key`` (``element`` given: a list of such values)."""
    check = element or cfg.SCHEMA[section][key]
    parser.add_argument(*flags, dest=f"{section}.{key}", default=None, type=_flag_type(check),
                        nargs="+" if element else None, help=help,
                        metavar=metavar or key.upper().replace("_", "-"))


def verbose(parser: argparse.ArgumentParser, top: bool = False) -> None:
    parser.add_argument("-v", "--verbose", action="store_true",
                        default=False if top else argparse.SUPPRESS,
                        help="show DEBUG logging and the traceback of an error")


def _data_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("data (a dataset name, or your own files)")
    _option(group, ["--dataset"], "data", "dataset", "a public dataset (see 'cdgraph datasets')", "NAME")
    _option(group, ["--root"], "data", "root", "folder of the datasets (default: $CDGRAPH_DATA or ~/.cache/cdgraph)", "DIR")
    _option(group, ["--files"], "data", "files", "your own interaction files, one per domain",
            "DOMAIN=FILE", element=cfg.text)
    _option(group, ["--user-col"], "data", "user_col", "user id column of --files (default: user)", "COLUMN")
    _option(group, ["--item-col"], "data", "item_col", "item id column of --files (default: item)", "COLUMN")
    _option(group, ["--rating-col"], "data", "rating_col", "rating column of --files", "COLUMN")
    _option(group, ["--time-col"], "data", "time_col", "timestamp column of --files (leave_one_out holds out the latest)", "COLUMN")
    _option(group, ["--split-col"], "data", "split_col", "column of train/valid/test labels in --files (--split predefined)", "COLUMN")
    _option(group, ["--sep"], "data", "sep", "delimiter of --files (default: sniffed; '\\t' for tab)", "SEP")
    _option(group, ["--target"], "data", "target", "the domain to recommend", "DOMAIN")
    _option(group, ["--split"], "data", "split", "how to split the target: " + ", ".join(SPLITS.names()) +
            " (default: the dataset's own protocol, else leave_one_out)", "KIND")
    _option(group, ["--split-seed"], "data", "split_seed", "seed of the split (default: 0)", "N")


def _model_options(parser: argparse.ArgumentParser, single: bool) -> None:
    group = parser.add_argument_group("model (any registered model and its constructor's options)")
    if single:
        _option(group, ["--model"], "model", "name", "the model: cdgraph (the best model, the default), graph "
                "(the configurable graph model), a baseline or a published method; "
                "'cdgraph models' lists them", "NAME")
    for key, help in (("encoder", "encoder of the graph model (e.g. lightgcn, bitgcf, sage)"),
                      ("fusion", "fusion head of the graph model (e.g. target, attention, weighted)"),
                      ("scorer", "scorer of the graph model (dot or mlp)")):
        group.add_argument(f"--{key}", dest=f"model.{key}", metavar="NAME", help=help)
    group.add_argument("--alignment", dest="model.alignment", nargs="+", metavar="NAME",
                       help="alignment losses of the graph model")
    group.add_argument("--dim", dest="model.dim", type=_flag_type(cfg.positive_int), metavar="N",
                       help="embedding size")
    group.add_argument("--layers", dest="model.layers", type=_flag_type(cfg.nonneg_int), metavar="N",
                       help="propagation layers")
    group.add_argument("--option", dest="model_options", action="append", metavar="KEY=VALUE",
                       help="any other option of the model's constructor (VALUE read as JSON, else text), "
                            "e.g. --option meta_epochs=10; repeat for several")


def _train_options(parser: argparse.ArgumentParser) -> None:
    """One flag per :class:`cdgraph.TrainConfig` option, named after it (``--batch-size``)."""
    group = parser.add_argument_group("training (cdgraph.TrainConfig)")
    for name, field in train_options().items():
        kind, default = field.metadata["kind"], train_default(name)
        shown = " ".join(map(str, default)) if isinstance(default, tuple) else default
        group.add_argument(f"--{name.replace('_', '-')}", dest=f"train.{name}", default=None,
                           nargs="+" if kind.many else None,
                           type=None if kind.many else _flag_type(cfg.SCHEMA["train"][name]),
                           metavar=kind.metavar, help=f"{field.metadata['help']} (default: {shown})")


def _run_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("evaluation and output")
    _option(group, ["-k"], "evaluate", "k", "cut-offs of the test metrics (default: 5 10 20)", "K",
            element=cfg.positive_int)
    _option(group, ["--num-negatives"], "evaluate", "num_negatives",
            "negatives per test item of the sampled protocol (default: the dataset's, else 999)", "N")
    group.add_argument("--config", metavar="FILE.toml", help="a TOML configuration (flags override it); "
                       "a run's config.toml repeats that run")
    _option(group, ["--out"], "run", "out", "folder of the run directories (default: runs)", "DIR")


def build_parser() -> argparse.ArgumentParser:
    """The ``cdgraph`` parser: one sub-command per task, each with its own ``--help``."""
    parser = Parser(prog="cdgraph", description="Graph-based cross-domain recommendation: train, "
                    "evaluate, compare, recommend and export from the shell.")
    verbose(parser, top=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    parser.commands = sub.choices  # the parser of each command, by name
    for add in (_datasets, _models, _train, _evaluate, _recommend, _compare, _export, _tune):
        add(sub)
    benchmark.add_parser(sub, verbose)
    return parser


def _datasets(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("datasets", help="list the public datasets (info, download)",
                       description="List the public datasets, show one, or download one.")
    verbose(p)
    p.set_defaults(func=commands.datasets_list)
    dsub = p.add_subparsers(dest="action", metavar="ACTION", parser_class=Parser)
    q = dsub.add_parser("list", help="list the datasets (the default)")
    verbose(q)
    q.set_defaults(func=commands.datasets_list)
    q = dsub.add_parser("info", help="domains, protocol, paper and files of one dataset",
                        description="Domains, protocol, paper, upstream and files of one dataset.")
    q.add_argument("name", metavar="NAME")
    q.add_argument("--json", action="store_true", help="print JSON")
    verbose(q)
    q.set_defaults(func=commands.datasets_info)
    q = dsub.add_parser("download", help="fetch and verify a dataset's files",
                        description="Fetch a dataset's files (sha256-checked) into --root; files "
                                    "already there are verified.")
    q.add_argument("name", metavar="NAME")
    q.add_argument("--root", metavar="DIR", help="target folder (default: $CDGRAPH_DATA or ~/.cache/cdgraph)")
    verbose(q)
    q.set_defaults(func=commands.datasets_download)


def _models(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("models", help="list the registered models and their options",
                       description="List every registered model (what --model takes) with the options "
                                   "of its constructor and their defaults.")
    verbose(p)
    p.set_defaults(func=commands.models_list)


def _train(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train one model into a new run directory",
                       description="Train one model and write a new run directory: config.toml, "
                                   "history.csv, metrics.json, model.pt, plots/ and report.md.")
    _data_options(p)
    _model_options(p, single=True)
    _train_options(p)
    _run_options(p)
    p.add_argument("--resume", metavar="RUN_DIR", help="continue an interrupted run from the "
                   "checkpoint in its directory, with its own configuration")
    verbose(p)
    p.set_defaults(func=training.train)


def _evaluate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="evaluate a run's model on its test split",
                       description="Reload a run's data, split and model and evaluate on test.")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("--protocol", choices=("full", "sampled"), help="one protocol (default: both)")
    p.add_argument("-k", nargs="+", type=_flag_type(cfg.positive_int), metavar="K",
                   help="cut-offs (default: the run's)")
    p.add_argument("--num-negatives", type=_flag_type(cfg.positive_int), metavar="N",
                   help="negatives per test item of the sampled protocol (default: the run's)")
    p.add_argument("--json", action="store_true", help="print JSON")
    verbose(p)
    p.set_defaults(func=commands.evaluate)


def _recommend(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("recommend", help="top-k target items for users (raw ids)",
                       description="Top-k target items for raw user ids from a run's model.")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("--user", action="append", required=True, metavar="ID",
                   help="a raw user id (repeat for several)")
    p.add_argument("-k", type=_flag_type(cfg.positive_int), default=10, metavar="K",
                   help="items per user (default: 10)")
    p.add_argument("--include-seen", action="store_true", help="keep items the user trained on")
    p.add_argument("--json", action="store_true", help="print JSON")
    verbose(p)
    p.set_defaults(func=commands.recommend)


def _compare(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("compare", help="several models on one split, over seeds",
                       description="Train several models on one split with each seed; write "
                                   "compare.csv, compare.md and a bar chart into a new run directory. "
                                   "The model options given apply to every model compared.")
    _data_options(p)
    g = p.add_argument_group("comparison")
    _option(g, ["--models"], "compare", "models", "models to compare (default: cdgraph lightgcn-joint)",
            "NAME", element=cfg.model_name)
    _option(g, ["--seeds"], "compare", "seeds", "training seeds (default: --seed)", "N",
            element=cfg.nonneg_int)
    g.add_argument("--protocol", choices=("full", "sampled"),
                   help="test protocol (default: sampled for a dataset that declares it, else full)")
    g.add_argument("--metric", help="metric of the bar chart (default: the validation metric)")
    _model_options(p, single=False)
    _train_options(p)
    _run_options(p)
    verbose(p)
    p.set_defaults(func=training.compare)


def _export(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="embeddings with raw ids, RecBole atomic files",
                       description="Export a run's embeddings (with raw ids) and, with --recbole, "
                                   "the split as RecBole atomic files.")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("--format", choices=("npy", "parquet"), default="npy",
                   help="npy: <type>_embeddings.npy + <type>_ids.csv; parquet: one table per type "
                        "(needs pyarrow) (default: npy)")
    p.add_argument("--recbole", action="store_true", help="also write RecBole atomic files of the split")
    p.add_argument("--out", metavar="DIR", help="output folder (default: RUN_DIR/export)")
    verbose(p)
    p.set_defaults(func=commands.export)


def _tune(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("tune", help="search a model's hyper-parameters with Optuna (resumable)",
                       description="Search the options of one model and of its training (TPE, median "
                                   "pruning on validation) and write a new run directory: best.toml "
                                   "(train it with 'cdgraph train --config'), trials.csv, plots/ and "
                                   "report.md. Options given by a flag or in [model]/[train] are fixed; "
                                   "the others with a default range are searched, and [tune.space] of "
                                   "--config overrides or extends the ranges. Needs 'cdgraph[tune]'.")
    _data_options(p)
    _model_options(p, single=True)
    _train_options(p)
    g = p.add_argument_group("search")
    _option(g, ["--trials"], "tune", "trials", f"finished trials the study should have, those of a "
            f"resumed study included (default: {tuning.TRIALS})", "N")
    _option(g, ["--timeout"], "tune", "timeout", "start no trial after this many seconds", "SECONDS")
    _option(g, ["--storage"], "tune", "storage", "an Optuna database, e.g. sqlite:///study.db: the study "
            "is kept there, and a rerun with the same study name continues it (default: in memory)", "URL")
    _option(g, ["--study"], "tune", "study", "name of the study (default: MODEL-DATASET-TARGET)", "NAME")
    g.add_argument("--no-prune", dest="tune.prune", action="store_const", const=False, default=None,
                   help="run every trial to its end (default: prune trials below the median)")
    g.add_argument("--config", metavar="FILE.toml", help="a TOML configuration with [tune] and "
                   "[tune.space] (flags override it); a tune run's config.toml repeats that search")
    _option(g, ["--out"], "run", "out", "folder of the run directories (default: runs)", "DIR")
    verbose(p)
    p.set_defaults(func=tuning.tune)
