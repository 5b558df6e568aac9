"""The dataset sheet and lens names: read, coerced and checked before anything is scheduled.

:func:`read_sheet` reads the TSV (UTF-8, a byte-order mark dropped); :func:`check_lens_names`
holds the one pattern every lens name must match (names become folders and shell words);
:func:`check_row_numbers` and :func:`check_simulation` check what the schemas cannot say
(finite numbers, the source behind the lens), each a ConfigError naming the lens.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

from ..errors import ConfigError

__all__ = ["LENS_NAME", "read_sheet", "check_lens_names", "check_row_numbers", "check_simulation"]

#: The one pattern of every lens name (sheet ``name`` and ``simulate:`` keys): names become
#: folder names and shell words, so only letters, digits and ``_ . + -``, starting with a
#: letter or digit (no ``/``, no ``..`` at the start, nothing a shell interprets).
LENS_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]{0,99}")


_NUMBER_COLUMNS = {"pixel_scale", "redshift_lens", "redshift_source", "mask_radius",
                   "centre_y", "centre_x", "positions_threshold"}
_INTEGER_COLUMNS = {"cutout"}
_BOOLEAN_COLUMNS = {"subtract_sky"}


def _coerce(column: str, value: str, where: str):
    value = value.strip()
    try:
        if column in _NUMBER_COLUMNS:
            return float(value) if value else None
        if column in _INTEGER_COLUMNS:
            return int(value) if value else None
    except ValueError:
        raise ConfigError(f"{where}: column {column!r} must be a number, got {value!r}") from None
    if column in _BOOLEAN_COLUMNS:
        if value.lower() in ("", "false", "no", "0"):
            return False if value else None
        if value.lower() in ("true", "yes", "1"):
            return True
        raise ConfigError(f"{where}: column {column!r} must be true or false, got {value!r}")
    return value


def read_sheet(path) -> list[dict]:
    """Rows of a dataset sheet (TSV with a header; lines starting with # are comments).

    Empty cells are dropped (so that the schema's defaults apply); numbers and booleans are
    converted. Relative file paths are kept as written (relative to the working directory).

    Raises
    ------
    ConfigError
        If the file is missing, has no header, or a number column does not parse.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"dataset sheet {str(path)!r} does not exist; set `datasets:` in the "
                          "config to a TSV file, or to \"\" for none")
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:  # -sig: a leading BOM is dropped
            lines = [line for line in handle if line.strip() and not line.lstrip().startswith("#")]
    except UnicodeDecodeError as error:
        raise ConfigError(f"dataset sheet {str(path)!r} is not UTF-8 text (byte {error.start}: "
                          f"{error.object[error.start:error.start + 1]!r}); save it as UTF-8") from None
    reader = csv.DictReader(lines, delimiter="\t")
    if not reader.fieldnames or "name" not in reader.fieldnames:
        raise ConfigError(f"dataset sheet {str(path)!r} needs a tab-separated header with a "
                          "'name' column (see workflow/schemas/datasets.schema.yaml)")
    rows = []
    for number, raw in enumerate(reader, start=2):
        where = f"{path}, line {number}"
        if None in raw:
            raise ConfigError(f"{where}: more cells than header columns; separate cells by tabs")
        row = {}
        for column, value in raw.items():
            converted = _coerce(column, value or "", where)
            if converted is not None and converted != "":
                row[column] = converted
        rows.append(row)
    return rows


def check_lens_names(simulated, sheet_rows) -> None:
    """Check every lens name against :data:`LENS_NAME` and that no name appears twice.

    Parameters
    ----------
    simulated : iterable of str
        The keys of the config's ``simulate:``.
    sheet_rows : list of dict
        The dataset sheet's rows (:func:`read_sheet`).

    Raises
    ------
    ConfigError
        Naming the offending name, where it comes from and the allowed pattern.
    """
    names = [(name, "simulate:") for name in simulated]
    names += [(row.get("name", ""), f"dataset sheet row {number}")
              for number, row in enumerate(sheet_rows, start=1)]
    seen = {}
    for name, where in names:
        if not isinstance(name, str) or not LENS_NAME.fullmatch(name):
            raise ConfigError(
                f"{where}: lens name {name!r} is not allowed; a lens name is used in paths and "
                "commands, so it must be 1-100 letters, digits, '_', '.', '+' or '-', starting "
                "with a letter or digit (e.g. J0029-0055)")
        if name in seen:
            raise ConfigError(f"lens name {name!r} appears twice ({seen[name]} and {where}); "
                              "names must be unique because they are used in paths")
        seen[name] = where


def check_simulation(name: str, spec) -> None:
    """One ``simulate:`` entry, checked as `lenspipe simulate` would (ConfigError naming the lens)."""
    from .datasets import check_simulation_spec

    try:
        if not isinstance(spec, dict):
            raise ConfigError(f"expected a mapping of simulation settings, got {spec!r}")
        check_simulation_spec(spec)
    except ConfigError as error:
        raise ConfigError(f"simulate: {name}: {error}") from None


def check_row_numbers(row: dict) -> None:
    """A sheet row's numbers finite and in range, its redshifts in order (ConfigError naming the lens)."""
    from .datasets import check_redshifts, positive_number

    try:
        for column in ("pixel_scale", "mask_radius"):
            positive_number(row.get(column), column)
        for column in ("centre_y", "centre_x", "positions_threshold"):
            if column in row:
                positive_number(abs(row[column]), column, allow_zero=True)
        check_redshifts(row.get("redshift_lens"), row.get("redshift_source"))
    except ConfigError as error:
        raise ConfigError(f"dataset sheet, lens {row.get('name')!r}: {error}") from None
