"""``cdgraph`` command line: logging and error handling around the parser of
:mod:`cdgraph.cli.parser`.

Sub-commands: ``datasets`` (list / info / download), ``models``, ``train``, ``evaluate``,
``recommend``, ``compare``, ``export``, ``tune`` and ``benchmark``; ``cdgraph COMMAND --help`` documents each.
A mistake of the user's (unknown dataset or model, missing file, bad column, unknown
user, bad option value) ends with one line on stderr and exit code 2; other failures
with one line and exit code 1. ``--verbose`` adds the traceback and DEBUG logging.
"""
from __future__ import annotations

import logging
import os
import sys
import traceback
from typing import Sequence

from cdgraph.cli.config import CLIError
from cdgraph.cli.parser import USAGE_ERROR, build_parser, one_line
from cdgraph.datasets import DownloadError
from cdgraph.train.allocator import keep_freed_memory

log = logging.getLogger("cdgraph.cli")

FAILURE = 1


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
