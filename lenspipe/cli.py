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

#: Subcommand registrations: each is a function ``add(subparsers)`` that adds one
#: subcommand and sets ``func`` on its parser. Later modules append here.
COMMANDS = []


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog="lenspipe",
        description="Strong-lens modelling at survey scale: simulate, prepare, fit, "
        "ingest and query.",
    )
    parser.add_argument("--version", action="version", version=f"lenspipe {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in COMMANDS:
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
