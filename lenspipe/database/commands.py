"""The ``lenspipe ingest`` and ``lenspipe query`` commands.

Each opens, calls one library function and prints. Exit codes: 0 success;
1 ``ingest`` skipped some result files (each named on stderr, the others were
ingested); 2 an error a user can cause (bad query, unreadable database),
printed as one line by :func:`lenspipe.cli.main`.
"""

from __future__ import annotations

import csv
import json
import sys

__all__ = ["add_ingest", "add_query", "COMMANDS", "split_columns"]

DEFAULT_COLUMNS = "identifier,unique_tag,name,max_log_likelihood"


def add_ingest(subparsers) -> None:
    """Register ``lenspipe ingest RESULTS_DIR... --database FILE``."""
    parser = subparsers.add_parser(
        "ingest", help="ingest result files into the results database",
        description="Ingest every result file under RESULTS_DIR into an sqlite database, in one "
        "transaction. Unchanged fits are left alone, changed ones replaced; corrupt or "
        "incomplete files are reported and skipped (exit code 1).")
    parser.add_argument("results", nargs="+", metavar="RESULTS_DIR",
                        help="folders searched recursively for result files (or result files)")
    parser.add_argument("--database", default="results/lenspipe.sqlite",
                        help="the sqlite file (default: %(default)s)")
    parser.add_argument("--pattern", default="result.h5",
                        help="file-name glob of result files (default: %(default)s)")
    parser.add_argument("--jobs", type=int, default=2,
                        help="threads reading result files (default: %(default)s)")
    parser.add_argument("--progress", action="store_true",
                        help="print one line per file as it is ingested")
    parser.set_defaults(func=run_ingest)


def run_ingest(args) -> int:
    """Body of ``lenspipe ingest``."""
    from .ingest import ingest

    def progress(done, total, path, outcome):
        print(f"[{done}/{total}] {outcome} {path}", flush=True)

    report = ingest(args.database, args.results, pattern=args.pattern, jobs=args.jobs,
                    progress=progress if args.progress else None)
    for path, reason in report.failed:
        print(f"lenspipe ingest: skipped {path}: {reason}", file=sys.stderr)
    if report.left_out_of_view:
        print(f"lenspipe ingest: fit_summary view leaves out {len(report.left_out_of_view)} "
              "paths (too many columns); use the parameter_summary view.", file=sys.stderr)
    print(f"{args.database}: {report.summary()}")
    return 0 if report.ok else 1


def add_query(subparsers) -> None:
    """Register ``lenspipe query DATABASE [EXPRESSION]``."""
    parser = subparsers.add_parser(
        "query", help="select fits from the results database",
        description="Print the fits matching EXPRESSION, e.g. "
        "\"galaxies.lens.mass.einstein_radius > 1.0 & unique_tag == 'lens_3'\". Operators: "
        "== != < <= > >=, & | ~ and parentheses; values: numbers, quoted strings, class names; "
        "operands: fields (unique_tag, name, path_prefix, identifier, parent, completed, "
        "max_log_likelihood, log_evidence, converged, steps, max_tau, rhat, wall_time_s, fit_log_evidence, warnings, warning_codes), model paths (maximum-likelihood value; append "
        ".median for the median), info[\"key\"] or info.key, latent.name, search.name.")
    parser.add_argument("database", metavar="DATABASE")
    parser.add_argument("expression", nargs="?", default=None, metavar="EXPRESSION",
                        help="the query (default: every fit)")
    parser.add_argument("--columns", default=DEFAULT_COLUMNS,
                        help="comma-separated columns: fields, parameter paths (add .median, "
                        ".lower_1 ...), info.key, latent.name (default: %(default)s)")
    parser.add_argument("--format", choices=("table", "csv", "json"), default="table",
                        help="output format (default: %(default)s)")
    parser.add_argument("--order-by", default=None, metavar="COLUMN", help="sort by this column")
    parser.add_argument("--descending", action="store_true", help="sort in descending order")
    parser.add_argument("--limit", type=int, default=None, help="print at most this many fits")
    parser.add_argument("--all", dest="completed_only", action="store_false",
                        help="include fits whose search did not complete")
    parser.set_defaults(func=run_query)


def split_columns(text: str) -> list[str]:
    """Split a --columns value on commas outside quotes and brackets."""
    columns, current, quote, depth = [], [], None, 0
    for char in text:
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
        elif char == "," and depth == 0:
            columns.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    columns.append("".join(current).strip())
    return [column for column in columns if column]


def run_query(args) -> int:
    """Body of ``lenspipe query``."""
    from ..errors import QueryError
    from .aggregator import Aggregator

    with Aggregator.from_database(args.database, completed_only=args.completed_only) as agg:
        selection = agg if args.expression is None else agg.query(args.expression)
        if args.order_by:
            selection = selection.order_by(args.order_by, descending=args.descending)
        if args.limit is not None:
            selection = selection[:max(args.limit, 0)]
        columns = split_columns(args.columns)
        if not columns:
            raise QueryError(f"--columns {args.columns!r} names no column; give comma-separated "
                             f"columns, e.g. --columns {DEFAULT_COLUMNS}")
        rows = selection.rows(columns)
        _WRITERS[args.format](columns, rows, sys.stdout)
    return 0


def _write_csv(columns, rows, out) -> None:
    writer = csv.writer(out)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row[column] for column in columns])


def _write_json(columns, rows, out) -> None:
    out.write("[")
    for i, row in enumerate(rows):
        out.write(("," if i else "") + "\n  " + json.dumps(row, ensure_ascii=False))
    out.write("\n]\n")


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _write_table(columns, rows, out) -> None:
    cells = [[_text(row[column]) for column in columns] for row in rows]
    widths = [max([len(column)] + [len(line[i]) for line in cells]) for i, column in
              enumerate(columns)]
    for line in [columns, ["-" * width for width in widths], *cells]:
        out.write("  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip() + "\n")
    out.write(f"({len(cells)} fits)\n")


_WRITERS = {"table": _write_table, "csv": _write_csv, "json": _write_json}

#: The database commands, in the order ``lenspipe --help`` lists them.
COMMANDS = (add_ingest, add_query)
