"""Ingest result files into the results database.

:func:`ingest` walks folders for result files and writes them into the
database in **one transaction**:

1. each file is read and checked completely before anything of it is written;
   a missing, truncated, corrupt or incomplete file is recorded in the report
   and skipped (the others are still ingested);
2. a fit whose identifier is absent is added; one present with the same
   content hash is left alone (so ingesting the same results again changes
   nothing); one present with another content hash has its rows replaced
   (it keeps its row id);
3. the ``fit_summary`` view is rebuilt and datasets no fit refers to are dropped;
4. the transaction commits. A process killed before the commit leaves the
   database as it was (SQLite's write-ahead log discards the partial write).

Sample arrays are copied as the compressed bytes the result file stores
(checked against their CRC-32), so ingest does not decompress them.
"""

from __future__ import annotations

import collections
import dataclasses
import itertools
import sqlite3
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ..errors import DatabaseError, LenspipeError, ResultFileError
from .records import Record, load_record
from .schema import (
    BUSY_TIMEOUT_S,
    open_database,
    refresh_views,
    write_transaction,
)

__all__ = ["IngestReport", "ingest", "find_result_files", "load_record"]  # load_record: from .records

_FIT_FIELDS = (
    "identifier", "unique_tag", "name", "path_prefix", "parent_identifier", "completed",
    "max_log_likelihood", "log_evidence", "n_samples", "n_parameters", "seed", "config_hash",
    "created", "lenspipe_version", "versions", "model", "search", "summary", "info", "profiling",
    "dataset_hash", "content_hash", "source", "ingested",
)


@dataclasses.dataclass
class IngestReport:
    """What an ingest did: identifiers added, replaced and unchanged, and the
    files skipped as ``(path, reason)``."""

    added: list = dataclasses.field(default_factory=list)
    replaced: list = dataclasses.field(default_factory=list)
    unchanged: list = dataclasses.field(default_factory=list)
    failed: list = dataclasses.field(default_factory=list)
    left_out_of_view: list = dataclasses.field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no file was skipped."""
        return not self.failed

    def summary(self) -> str:
        """One line: counts of each outcome."""
        return (f"{len(self.added)} added, {len(self.replaced)} replaced, "
                f"{len(self.unchanged)} unchanged, {len(self.failed)} skipped")


def find_result_files(paths: Iterable, pattern: str = "result.h5") -> list[Path]:
    """Result files under ``paths``: files given directly, and files named
    ``pattern`` (a glob) anywhere under given folders; sorted, no repeats."""
    found = set()
    for path in map(Path, paths):
        if path.is_dir():
            found.update(p for p in path.rglob(pattern) if p.is_file())
        else:
            found.add(path)  # a missing file is reported when it is read
    return sorted(found)


def _insert(db, table: str, row: dict, verb: str = "INSERT") -> int:
    columns = ", ".join(f'"{key}"' for key in row)
    marks = ", ".join("?" for _ in row)
    cursor = db.execute(f'{verb} INTO "{table}" ({columns}) VALUES ({marks})', list(row.values()))
    return cursor.lastrowid


def _delete_children(db, fit_id: int) -> None:
    for table in ("model_component", "parameter", "latent", "info", "samples", "reconstruction"):
        db.execute(f'DELETE FROM "{table}" WHERE "fit_id" = ?', [fit_id])


def _store(db, record: Record) -> str:
    """Write one checked record inside the ingest's transaction; returns "added",
    "replaced" or "unchanged" (:func:`_store_or_reason` wraps it in a savepoint)."""
    fit = record.fit
    row = db.execute('SELECT "id", "content_hash" FROM "fit" WHERE "identifier" = ?',
                     [fit["identifier"]]).fetchone()
    if row is not None and row[1] == fit["content_hash"]:
        return "unchanged"
    _insert(db, "dataset", record.dataset, verb="INSERT OR IGNORE")
    for galaxy, image in record.adapt_images:
        _insert(db, "adapt_image", dict(dataset_hash=record.dataset["hash"], galaxy=galaxy, image=image),
                verb="INSERT OR IGNORE")
    if record.mesh_reference is not None:
        _insert(db, "mesh_reference", dict(dataset_hash=record.dataset["hash"], reference=record.mesh_reference),
                verb="INSERT OR IGNORE")
    if row is None:
        fit_id = _insert(db, "fit", {key: fit[key] for key in _FIT_FIELDS})
    else:
        fit_id = row[0]
        _delete_children(db, fit_id)
        assignments = ", ".join(f'"{key}" = ?' for key in _FIT_FIELDS)
        db.execute(f'UPDATE "fit" SET {assignments} WHERE "id" = ?',
                   [fit[key] for key in _FIT_FIELDS] + [fit_id])
    for path, cls in record.components:
        db.execute('INSERT INTO "model_component" ("fit_id", "path", "class") VALUES (?, ?, ?)',
                   [fit_id, path, cls])
    for values in record.parameters:
        db.execute('INSERT INTO "parameter" ("fit_id", "path", "max_likelihood", "median", '
                   '"lower_1", "upper_1", "lower_3", "upper_3") VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
                   [fit_id, *values])
    for values in record.latent:
        db.execute('INSERT INTO "latent" ("fit_id", "name", "median", "lower_1", "upper_1", '
                   '"lower_3", "upper_3") VALUES (?, ?, ?, ?, ?, ?, ?)', [fit_id, *values])
    for key, value in record.info:
        db.execute('INSERT INTO "info" ("fit_id", "key", "value") VALUES (?, ?, ?)',
                   [fit_id, key, value])
    _insert(db, "samples", dict(fit_id=fit_id, **record.samples))
    if record.reconstruction is not None:
        _insert(db, "reconstruction", dict(fit_id=fit_id, **record.reconstruction))
    return "added" if row is None else "replaced"


#: What reading a damaged or hostile file can raise besides ResultFileError: each skips that
#: file (named, with the reason), never the ingest.
_FILE_FAULTS = (LenspipeError, OSError, KeyError, IndexError, TypeError, ValueError, AttributeError,
                OverflowError, RecursionError, UnicodeError)


def _load(path):
    """:func:`load_record`, or the reason the file is skipped (a string naming the file)."""
    try:
        return load_record(path)
    except ResultFileError as error:
        return str(error)
    except _FILE_FAULTS as error:
        return f"{path}: malformed result file ({type(error).__name__}: {str(error)[:200]})"


def _store_or_reason(db, record: Record, path):
    """:func:`_store` inside a savepoint; a value the database refuses skips this file only."""
    db.execute("SAVEPOINT one_file")
    try:
        outcome = _store(db, record)
    except (sqlite3.IntegrityError, sqlite3.InterfaceError, sqlite3.DataError, OverflowError,
            ValueError, TypeError) as error:
        db.execute("ROLLBACK TO SAVEPOINT one_file")
        db.execute("RELEASE SAVEPOINT one_file")
        return f"{path}: a value cannot be stored ({type(error).__name__}: {str(error)[:200]})"
    db.execute("RELEASE SAVEPOINT one_file")
    return outcome


def _records(files: list, jobs: int):
    """Yield ``(path, record or reason)`` in file order; with ``jobs > 1`` files are
    read by ``jobs`` threads (h5py, zlib and sqlite release the GIL for much of
    their work), at most ``2 * jobs`` files ahead of the writer."""
    if jobs <= 1:
        yield from ((path, _load(path)) for path in files)
        return
    with ThreadPoolExecutor(jobs) as pool:
        pending = collections.deque()
        upcoming = iter(files)
        for path in itertools.islice(upcoming, 2 * jobs):
            pending.append((path, pool.submit(_load, path)))
        while pending:
            path, future = pending.popleft()
            for following in itertools.islice(upcoming, 1):
                pending.append((following, pool.submit(_load, following)))
            yield path, future.result()


def ingest(database, paths, *, pattern: str = "result.h5", jobs: int = 2,
           progress: Callable[[int, int, Path, str], None] | None = None,
           busy_timeout: float = BUSY_TIMEOUT_S) -> IngestReport:
    """Ingest the result files under ``paths`` into ``database`` (one transaction).

    Parameters
    ----------
    database : str or Path
        The sqlite file; created (with its folder) if absent, migrated if old.
    paths : iterable of str or Path
        Result files, or folders searched recursively for ``pattern``.
    pattern : str
        File-name glob of result files inside folders.
    jobs : int
        Threads reading result files ahead of the writer (1: read in turn). The
        database is written by one thread, in file order, so the outcome does not
        depend on ``jobs``.
    progress : callable, optional
        Called as ``progress(done, total, path, outcome)`` after each file, outcome
        being "added", "replaced", "unchanged" or "skipped".
    busy_timeout : float
        Seconds to wait while another ingest holds the database's write lock.

    Returns
    -------
    IngestReport
        ``report.ok`` is False when some file was skipped.
    """
    files = find_result_files(paths, pattern)
    try:
        return _ingest(database, files, jobs, progress, busy_timeout)
    except sqlite3.OperationalError as error:
        if "locked" not in str(error) and "busy" not in str(error):
            raise DatabaseError(f"{database}: cannot write the database ({error}); nothing was "
                                "changed") from None
        raise DatabaseError(f"{database}: another process (another `lenspipe ingest`?) held the "
                            f"database's lock for {busy_timeout:g} s; nothing was changed, run "
                            "this ingest again when it has finished") from None
    except sqlite3.DatabaseError as error:
        raise DatabaseError(f"{database}: the database is damaged or unreadable ({error}); nothing "
                            "was changed. Restore it from a copy, or move it aside and ingest "
                            "the results into a new one") from None


def _ingest(database, files, jobs, progress, busy_timeout) -> IngestReport:
    report = IngestReport()
    db = open_database(database, busy_timeout=busy_timeout)
    try:
        with write_transaction(db):
            for done, (path, record) in enumerate(_records(files, jobs), start=1):
                outcome = record if isinstance(record, str) else _store_or_reason(db, record, path)
                if outcome in ("added", "replaced", "unchanged"):
                    getattr(report, outcome).append(record.fit["identifier"])
                else:
                    report.failed.append((str(path), outcome))
                    outcome = "skipped"
                if progress is not None:
                    progress(done, len(files), path, outcome)
            if report.added or report.replaced:
                unused = '(SELECT "dataset_hash" FROM "fit" WHERE "dataset_hash" IS NOT NULL)'
                db.execute(f'DELETE FROM "adapt_image" WHERE "dataset_hash" NOT IN {unused}')
                db.execute(f'DELETE FROM "dataset" WHERE "hash" NOT IN {unused}')
                report.left_out_of_view = refresh_views(db)
            elif "fit_summary" not in db.view_names():
                refresh_views(db)
        # Copy the write-ahead log into the database file, so that the .sqlite file
        # alone holds everything (waits up to the busy timeout for open readers).
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.close()
    return report
