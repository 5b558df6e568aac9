"""The ``lenspipe`` command line: a thin shell over the package.

Each subcommand parses its arguments, calls one library function and prints.
Errors a user can cause (:class:`~lenspipe.errors.LenspipeError`) are printed as
one line on stderr with exit code 2, never as a traceback.
"""

from __future__ import annotations

import argparse
import sys

from ._version import __version__
from .errors import LenspipeError

__all__ = ["main", "build_parser"]


def _commands():
    """Every subcommand registration, in the order `lenspipe --help` lists them.

    Each is a function ``add(subparsers)`` that adds one subcommand and sets ``func``.
    """
    from .database.commands import COMMANDS as database
    from .pipeline.commands import COMMANDS as pipeline
    from .pipeline.status import COMMANDS as status
    from .results.commands import COMMANDS as results

    return [*pipeline, *results, *database, *status]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog="lenspipe",
        description="Strong-lens modelling at survey scale: simulate, prepare, fit, "
        "ingest and query.",
    )
    parser.add_argument("--version", action="version", version=f"lenspipe {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in _commands():
        add(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except LenspipeError as error:
        print(f"lenspipe {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
