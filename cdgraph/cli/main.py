"""``cdgraph`` command line: parser, logging and error handling.

Sub-commands: ``datasets`` (list / info / download), ``train``, ``evaluate``,
``recommend``, ``compare``, ``export`` and ``benchmark``; ``cdgraph COMMAND --help`` documents each.
A mistake of the user's (unknown dataset or model, missing file, bad column, unknown
user, bad option value) ends with one line on stderr and exit code 2; other failures
with one line and exit code 1. ``--verbose`` adds the traceback and DEBUG logging.
"""
from __future__ import annotations

import argparse
import logging
import os
import re
import sys
import traceback
from typing import Any, Callable, Sequence

from cdgraph.train.allocator import keep_freed_memory
from cdgraph.cli import benchmark
from cdgraph.cli import config as cfg
from cdgraph.cli.config import CLIError

log = logging.getLogger("cdgraph.cli")

USAGE_ERROR = 2
FAILURE = 1


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


def _verbose(parser: argparse.ArgumentParser, top: bool = False) -> None:
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
    _option(group, ["--split"], "data", "split", "how to split the target: " + ", ".join(cfg.SPLITS) +
            " (default: the dataset's own protocol, else leave_one_out)", "KIND")
    _option(group, ["--split-seed"], "data", "split_seed", "seed of the split (default: 0)", "N")


def _model_options(parser: argparse.ArgumentParser, single: bool) -> None:
    group = parser.add_argument_group("model")
    if single:
        _option(group, ["--model"], "model", "name", "one of " + ", ".join(cfg.MODELS) + " (default: cdgraph, the configurable "
                "joint-graph model; graph-mix is the benchmark's cdgraph: that model mixed with a "
                "target-only LightGCN and a PTUPCDR bridge)", "NAME")
    _option(group, ["--encoder"], "model", "encoder", "encoder of --model cdgraph / graph-mix (default: lightgcn)", "NAME")
    _option(group, ["--fusion"], "model", "fusion", "fusion head of --model cdgraph / graph-mix (default: target)", "NAME")
    _option(group, ["--scorer"], "model", "scorer", "scorer of --model cdgraph (default: dot; graph-mix needs dot)", "NAME")
    _option(group, ["--alignment"], "model", "alignment", "alignment losses of --model cdgraph / graph-mix", "NAME",
            element=cfg.text)
    _option(group, ["--dim"], "model", "dim", "embedding size (default: 64)", "N")
    _option(group, ["--layers"], "model", "layers", "propagation layers (default: 4)", "N")


def _train_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("training and evaluation")
    _option(group, ["--epochs"], "train", "epochs", "training epochs (default: 30)", "N")
    _option(group, ["--lr"], "train", "lr", "learning rate (default: 0.01)", "LR")
    _option(group, ["--batch-size"], "train", "batch_size", "target positives per step (default: 8192)", "N")
    _option(group, ["--patience"], "train", "patience", "early-stopping patience, or 'none' (default: 10)", "N")
    _option(group, ["--source-weight"], "train", "source_weight",
            "weight of the source domains' loss, a number or 'auto' (selected on validation; "
            "the default of --model cdgraph and graph-mix)", "W")
    _option(group, ["--seed"], "train", "seed", "training seed (default: 0)", "N")
    _option(group, ["--device"], "train", "device", "cpu, cuda, cuda:1, mps (default: cpu)", "DEVICE")
    _option(group, ["--loss"], "train", "loss", "bpr, bce or softmax (default: bpr)", "LOSS")
    _option(group, ["--l2"], "train", "l2", "L2 weight on the batch embeddings (default: 1e-4)", "W")
    _option(group, ["--valid-metric"], "train", "valid_metric", "metric that selects the model (default: NDCG@10)", "METRIC")
    _option(group, ["--neighbors"], "train", "neighbors", "mini-batch mode: neighbours sampled per node "
            "at each hop, one per layer, e.g. 10 5 5 (default: full-batch)", "K", element=cfg.positive_int)
    _option(group, ["-k"], "evaluate", "k", "cut-offs of the test metrics (default: 5 10 20)", "K",
            element=cfg.positive_int)
    _option(group, ["--num-negatives"], "evaluate", "num_negatives",
            "negatives per test item of the sampled protocol (default: the dataset's, else 999)", "N")
    group.add_argument("--config", metavar="FILE.toml", help="a TOML configuration (flags override it); "
                       "a run's config.toml repeats that run")
    _option(group, ["--out"], "run", "out", "folder of the run directories (default: runs)", "DIR")


def build_parser() -> argparse.ArgumentParser:
    from cdgraph.cli import commands, training

    parser = Parser(prog="cdgraph", description="Graph-based cross-domain recommendation: train, "
                    "evaluate, compare, recommend and export from the shell.")
    _verbose(parser, top=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    parser.commands = sub.choices  # the parser of each command, by name

    p = sub.add_parser("datasets", help="list the public datasets (info, download)",
                       description="List the public datasets, show one, or download one.")
    _verbose(p)
    p.set_defaults(func=commands.datasets_list)
    dsub = p.add_subparsers(dest="action", metavar="ACTION", parser_class=Parser)
    q = dsub.add_parser("list", help="list the datasets (the default)")
    _verbose(q)
    q.set_defaults(func=commands.datasets_list)
    q = dsub.add_parser("info", help="domains, protocol, paper and files of one dataset",
                        description="Domains, protocol, paper, upstream and files of one dataset.")
    q.add_argument("name", metavar="NAME")
    q.add_argument("--json", action="store_true", help="print JSON")
    _verbose(q)
    q.set_defaults(func=commands.datasets_info)
    q = dsub.add_parser("download", help="fetch and verify a dataset's files",
                        description="Fetch a dataset's files (sha256-checked) into --root; files "
                                    "already there are verified.")
    q.add_argument("name", metavar="NAME")
    q.add_argument("--root", metavar="DIR", help="target folder (default: $CDGRAPH_DATA or ~/.cache/cdgraph)")
    _verbose(q)
    q.set_defaults(func=commands.datasets_download)

    p = sub.add_parser("train", help="train one model into a new run directory",
                       description="Train one model and write a new run directory: config.toml, "
                                   "history.csv, metrics.json, model.pt, plots/ and report.md.")
    _data_options(p)
    _model_options(p, single=True)
    _train_options(p)
    if training.resume_supported():
        p.add_argument("--resume", metavar="RUN_DIR", help="continue an interrupted run from the "
                       "checkpoint in its directory, with its own configuration")
    _verbose(p)
    p.set_defaults(func=training.train)

    p = sub.add_parser("evaluate", help="evaluate a run's model on its test split",
                       description="Reload a run's data, split and model and evaluate on test.")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("--protocol", choices=("full", "sampled"), help="one protocol (default: both)")
    p.add_argument("-k", nargs="+", type=_flag_type(cfg.positive_int), metavar="K",
                   help="cut-offs (default: the run's)")
    p.add_argument("--num-negatives", type=_flag_type(cfg.positive_int), metavar="N",
                   help="negatives per test item of the sampled protocol (default: the run's)")
    p.add_argument("--json", action="store_true", help="print JSON")
    _verbose(p)
    p.set_defaults(func=commands.evaluate)

    p = sub.add_parser("recommend", help="top-k target items for users (raw ids)",
                       description="Top-k target items for raw user ids from a run's model.")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("--user", action="append", required=True, metavar="ID",
                   help="a raw user id (repeat for several)")
    p.add_argument("-k", type=_flag_type(cfg.positive_int), default=10, metavar="K",
                   help="items per user (default: 10)")
    p.add_argument("--include-seen", action="store_true", help="keep items the user trained on")
    p.add_argument("--json", action="store_true", help="print JSON")
    _verbose(p)
    p.set_defaults(func=commands.recommend)

    p = sub.add_parser("compare", help="several models on one split, over seeds",
                       description="Train several models on one split with each seed; write "
                                   "compare.csv, compare.md and a bar chart into a new run directory. "
                                   "--source-weight applies to cdgraph, graph-mix and lightgcn-joint only.")
    _data_options(p)
    g = p.add_argument_group("comparison")
    _option(g, ["--models"], "compare", "models", "models to compare (default: cdgraph lightgcn-joint)",
            "NAME", element=cfg.choice(cfg.MODELS))
    _option(g, ["--seeds"], "compare", "seeds", "training seeds (default: --seed)", "N",
            element=cfg.nonneg_int)
    g.add_argument("--protocol", choices=("full", "sampled"),
                   help="test protocol (default: sampled for a dataset that declares it, else full)")
    g.add_argument("--metric", help="metric of the bar chart (default: the validation metric)")
    _model_options(p, single=False)
    _train_options(p)
    _verbose(p)
    p.set_defaults(func=training.compare)

    p = sub.add_parser("export", help="embeddings with raw ids, RecBole atomic files",
                       description="Export a run's embeddings (with raw ids) and, with --recbole, "
                                   "the split as RecBole atomic files.")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("--format", choices=("npy", "parquet"), default="npy",
                   help="npy: <type>_embeddings.npy + <type>_ids.csv; parquet: one table per type "
                        "(needs pyarrow) (default: npy)")
    p.add_argument("--recbole", action="store_true", help="also write RecBole atomic files of the split")
    p.add_argument("--out", metavar="DIR", help="output folder (default: RUN_DIR/export)")
    _verbose(p)
    p.set_defaults(func=commands.export)

    benchmark.add_parser(sub, _verbose)
    return parser


def _setup_logging(verbose: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s" if verbose
                                           else "cdgraph: %(levelname)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (0 ok, 1 failure, 2 usage error)."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:  # said by the command's own parser, whose usage line then shows its options
        parser.commands.get(args.command, parser).error(f"unrecognized arguments: {' '.join(extra)}")
    verbose = bool(getattr(args, "verbose", False))
    _setup_logging(verbose)
    if args.command is None:
        parser.print_help()
        return USAGE_ERROR
    keep_freed_memory()  # fewer page faults in training (see cdgraph.train.allocator)
    try:
        return args.func(args) or 0
    except BrokenPipeError:  # stdout closed early (| head): stop quietly, as the Python docs advise
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return FAILURE
    except KeyboardInterrupt:
        print("cdgraph: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # one line per failure; the traceback only with --verbose
        from cdgraph.datasets import DownloadError

        usage = isinstance(exc, (CLIError, ValueError, FileNotFoundError)) and not isinstance(exc, DownloadError)
        if verbose:
            traceback.print_exc()
        message = one_line(exc) or type(exc).__name__
        if not usage and not isinstance(exc, (CLIError, DownloadError, OSError)):
            message = f"{type(exc).__name__}: {message}" + ("" if verbose else " (rerun with --verbose for the traceback)")
        print(f"cdgraph {args.command}: error: {message}", file=sys.stderr)
        return USAGE_ERROR if usage else FAILURE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
