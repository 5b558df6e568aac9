"""``lenspipe status [RESULTS_DIR]``: where each fit stands, from the files alone.

It reads only what the fits write (result files, and the sampler checkpoints of fits still
running or stopped), so it works while the workflow runs, after it, and from another machine
on a cluster's shared filesystem. One line per fit: lens, stage, state, step, max tau,
R-hat, time (the time at most left to ``max_steps`` for a fit in progress, the wall time of
a finished one) and whether it converged.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

from ..errors import LenspipeError
from ..search.progress import format_duration, time_left

__all__ = ["fit_status", "status_rows", "COMMANDS"]

COLUMNS = ("lens", "stage", "state", "step", "max_tau", "rhat", "time", "converged")


def _largest(values) -> str:
    values = [] if values is None else list(values)
    finite = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    return f"{max(finite):.3g}" if finite else "-"


def _from_result(path: Path) -> dict:
    from ..results.result_file import open_result, read_header

    with open_result(path) as file:
        header = read_header(file)
    diagnostics = header["search"].get("diagnostics") or {}
    wall = (header.get("profiling") or {}).get("wall_time_s", diagnostics.get("wall_time"))
    return {"lens": header["unique_tag"], "stage": header["name"], "state": "done",
            "step": str(diagnostics.get("steps", "-")), "max_tau": _largest(diagnostics.get("tau")),
            "rhat": _largest(diagnostics.get("rhat")), "time": format_duration(wall),
            "converged": "yes" if diagnostics.get("converged") else "no"}


def _from_checkpoint(path: Path, lens: str, stage: str) -> dict:
    from ..search.checkpoint import read_checkpoint

    state = read_checkpoint(path)
    wall = float(state.counters.get("wall_time", 0.0))
    max_steps = state.notes.get("max_steps")
    left = time_left(state.steps, max_steps, wall) if max_steps else None
    age = time.time() - path.stat().st_mtime
    return {"lens": lens, "stage": stage, "state": f"sampling (checkpoint {format_duration(age)} ago)",
            "step": f"{state.steps}/{max_steps}" if max_steps else str(state.steps),
            "max_tau": _largest(state.assessment.get("tau")),
            "rhat": _largest(state.assessment.get("rhat")),
            "time": f"<= {format_duration(left)} left" if left is not None else "-",
            "converged": "yes" if state.converged else "no"}


def fit_status(folder: Path) -> dict:
    """The status line (a dict of :data:`COLUMNS`) of one fit folder ``results/{lens}/{stage}``.

    A result newer than the checkpoint is a finished fit; a checkpoint alone (or newer) is a
    fit sampling or stopped mid-way; a fit folder with neither is waiting (its optimiser may
    be running). An unreadable file gives the state ``unreadable: <reason>``.
    """
    result, checkpoint = folder / "result.h5", folder / "checkpoint.h5"
    lens, stage = folder.parent.name, folder.name
    try:
        if result.is_file() and (not checkpoint.is_file()
                                 or result.stat().st_mtime >= checkpoint.stat().st_mtime):
            return _from_result(result)
        if checkpoint.is_file():
            return _from_checkpoint(checkpoint, lens, stage)
    except (LenspipeError, OSError, KeyError, ValueError, TypeError) as error:
        reason = str(error).replace(str(folder) + "/", "")
        return dict.fromkeys(COLUMNS, "-") | {"lens": lens, "stage": stage,
                                              "state": f"unreadable: {reason[:120]}"}
    return dict.fromkeys(COLUMNS, "-") | {"lens": lens, "stage": stage,
                                          "state": "started (optimising or no checkpoint yet)"}


def status_rows(results_dir) -> list[dict]:
    """Status of every fit folder under ``results_dir`` (``{lens}/{stage}/``), sorted."""
    root = Path(results_dir)
    folders = {path for path in root.glob("*/*") if path.is_dir()}  # Snakemake makes them first
    return [fit_status(folder) for folder in sorted(folders)]


def add_status(subparsers) -> None:
    parser = subparsers.add_parser(
        "status", help="one line per fit: state, step, max tau, R-hat, time, converged",
        description="Print where each fit under RESULTS_DIR stands, from its result file or its "
        "sampler checkpoint: usable while the workflow runs and on a cluster's shared "
        "filesystem. R-hat is known once a fit is done; the time of a fit in progress is at "
        "most what is left to max_steps (a converging fit stops sooner).")
    parser.add_argument("results", nargs="?", default="results", metavar="RESULTS_DIR",
                        help="the workflow's results folder (default: %(default)s)")
    parser.set_defaults(func=run_status)


def run_status(args) -> int:
    from ..errors import ConfigError

    if not Path(args.results).is_dir():
        raise ConfigError(f"{args.results!r} is not a folder; give the workflow's results folder "
                          "(default: results)")
    rows = status_rows(args.results)
    widths = {column: max([len(column)] + [len(row[column]) for row in rows]) for column in COLUMNS}
    for line in [dict(zip(COLUMNS, COLUMNS)), *rows]:
        print("  ".join(line[column].ljust(widths[column]) for column in COLUMNS).rstrip())
    if not rows:
        print(f"(no fits under {args.results} yet)")
    return 0


COMMANDS = [add_status]
