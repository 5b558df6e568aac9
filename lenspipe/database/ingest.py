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
import datetime as _dt
import hashlib
import itertools
import sqlite3
import zlib
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import h5py

from ..errors import DatabaseError, LenspipeError, ResultFileError
from ..results.codec import read_encoded
from ..results.identifier import canonical_json
from ..results.result_file import (
    SAMPLE_ARRAYS,
    open_result,
    read_dataset,
    read_header,
    read_texts,
)
from ..results.summary import components_from_model
from .schema import (
    BUSY_TIMEOUT_S,
    SAMPLES_CODEC,
    STATISTICS,
    npy_bytes,
    open_database,
    refresh_views,
    valid_path,
    write_transaction,
)

__all__ = ["IngestReport", "ingest", "find_result_files", "load_record"]

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


@dataclasses.dataclass
class _Record:
    """One result file, read and checked, ready to write."""

    fit: dict
    components: list
    parameters: list
    latent: list
    info: list
    samples: dict
    dataset: dict


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


def _info_value(value):
    if isinstance(value, bool):
        return int(value)
    if value is None or isinstance(value, (int, float, str)):
        return value
    return canonical_json(value)


def _float(value):
    return None if value is None else float(value)


def _check_documents(path, header) -> None:
    """The JSON documents have the types ingest reads (a readable but malformed file is refused)."""
    for key in ("model", "search", "summary", "info", "profiling"):
        if not isinstance(header[key], dict):
            raise ResultFileError(f"{path}: the {key} document is a {type(header[key]).__name__}, "
                                  "not a JSON object; the file was not written by lenspipe")
    paths = header["parameter_paths"]
    if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
        raise ResultFileError(f"{path}: samples/parameter_paths is not a list of names")
    summary = header["summary"]
    for key in ("max_log_likelihood_instance", "median_pdf_instance", "errors", "latent"):
        if not isinstance(summary.get(key, {}), dict):
            raise ResultFileError(f"{path}: summary {key!r} is not a JSON object")


def _check_model(path, model: dict, paths) -> None:
    """The stored model rebuilds, with the stored parameter paths (else every later
    ``values("samples")`` over the database would fail at this fit)."""
    from ..model import Model

    try:
        rebuilt = Model.from_dict(model)
    except (LenspipeError, KeyError, TypeError, ValueError, AttributeError) as error:
        raise ResultFileError(f"{path}: the stored model cannot be rebuilt ({error}); was it "
                              "written by another lenspipe or edited by hand?") from None
    if list(rebuilt.paths) != list(paths):
        raise ResultFileError(f"{path}: the stored model's parameters {list(rebuilt.paths)[:4]}... "
                              f"differ from the samples' {list(paths)[:4]}...")


def _fixed_parameters(node, prefix="", out=None) -> dict:
    """{path: value} of every fixed number in a stored model (a component taken from an earlier
    stage, a centre held at 0), so that a query on a parameter finds the fit whether the
    parameter was free or fixed in it. A pair of numbers ``centre`` gives ``centre.centre_0``
    and ``centre.centre_1``, as free tuple parameters are named."""
    out = {} if out is None else out
    if not isinstance(node, dict):
        return out
    for key, child in (node.get("children") or {}).items():
        _fixed_parameters(child, f"{prefix}.{key}" if prefix else key, out)
    for key, value in (node.get("parameters") or {}).items():
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict):
            if "type" in value:  # a nested component; a dict without "type" is a prior
                _fixed_parameters(value, path, out)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            out[path] = float(value)
        elif (isinstance(value, list) and len(value) == 2
              and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)):
            out[f"{path}.{key}_0"], out[f"{path}.{key}_1"] = map(float, value)
    return out


def _check(path, header, shapes, components) -> None:
    paths = header["parameter_paths"]
    summary = header["summary"]
    count = shapes["parameters"][0] if len(shapes["parameters"]) == 2 else -1
    if count < 0 or shapes["parameters"][1] != len(paths) or any(
            shapes[name] != (count,) for name in SAMPLE_ARRAYS[1:]):
        raise ResultFileError(f"{path}: sample arrays of inconsistent shapes {shapes}.")
    names = list(paths) + [item["path"] for item in components] + list(summary.get("latent", {}))
    bad = [name for name in names if not valid_path(name)]
    if bad:
        raise ResultFileError(f"{path}: invalid parameter or component paths {bad[:5]}; paths "
                              "must be dotted Python identifiers.")
    if len(set(paths)) != len(paths):
        raise ResultFileError(f"{path}: repeated parameter paths.")
    if not header["identifier"]:
        raise ResultFileError(f"{path}: the result file has no identifier.")
    for key in ("max_log_likelihood_instance", "median_pdf_instance", "errors"):
        missing = set(paths) - set(summary.get(key, {}))
        if missing:
            raise ResultFileError(f"{path}: summary {key!r} lacks {sorted(missing)[:5]}.")


def load_record(path) -> _Record:
    """Read and check one result file; everything ingest will write.

    Raises
    ------
    ResultFileError
        If the file is missing, truncated, corrupt or incomplete.
    """
    path = Path(path)
    with open_result(path) as f:
        texts = read_texts(f)
        header = read_header(f, texts)
        _check_documents(path, header)
        _check_model(path, header["model"], header["parameter_paths"])
        versions = str(f.attrs["versions"])
        group = h5py.h5g.open(f.id, b"samples")
        arrays = {name: h5py.h5d.open(group, name.encode()) for name in SAMPLE_ARRAYS}
        shapes = {name: tuple(array.shape) for name, array in arrays.items()}
        components = components_from_model(header["model"])
        _check(path, header, shapes, components)
        blobs = {name: read_encoded(array) for name, array in arrays.items()}
        dataset = read_dataset(f)
    summary, paths = header["summary"], header["parameter_paths"]
    data_hash = dataset.content_hash()
    fit = {key: header[key] for key in ("identifier", "unique_tag", "name", "path_prefix",
                                        "parent_identifier", "seed", "config_hash", "created",
                                        "lenspipe_version")}
    content = hashlib.sha256(canonical_json(
        [fit, header["completed"], paths, versions, texts, data_hash,
         {name: zlib.crc32(blob) for name, blob in blobs.items()}]).encode())
    fit.update(
        completed=int(header["completed"]), n_samples=shapes["parameters"][0],
        max_log_likelihood=_float(summary.get("max_log_likelihood")),
        log_evidence=_float(summary.get("log_evidence")), n_parameters=len(paths),
        dataset_hash=data_hash, content_hash=content.hexdigest(), source=str(path.resolve()),
        ingested=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        versions=versions, **texts)
    ml, median, errors = (summary["max_log_likelihood_instance"], summary["median_pdf_instance"],
                          summary["errors"])
    parameters = [(p, _float(ml[p]), _float(median[p]), *(_float(errors[p].get(k)) for k in
                   ("lower_1", "upper_1", "lower_3", "upper_3"))) for p in paths]
    free = set(paths)
    parameters += [(p, value, value, value, value, value, value)
                   for p, value in _fixed_parameters(header["model"]).items()
                   if p not in free and valid_path(p)]
    latent = [(name, *(_float(values.get(k)) for k in STATISTICS[1:]))
              for name, values in summary.get("latent", {}).items()]
    info = [(str(key), _info_value(value)) for key, value in header["info"].items()]
    samples = dict(codec=SAMPLES_CODEC, n_samples=shapes["parameters"][0], n_parameters=len(paths),
                   parameter_paths=canonical_json(list(paths)), **blobs)
    arrays = {key: npy_bytes(value) for key, value in dataset.arrays().items()}
    return _Record(fit, [(item["path"], str(item["class"])) for item in components], parameters,
                   latent, info, samples, dict(hash=data_hash, pixel_scale=dataset.pixel_scale,
                                               **arrays))


def _insert(db, table: str, row: dict, verb: str = "INSERT") -> int:
    columns = ", ".join(f'"{key}"' for key in row)
    marks = ", ".join("?" for _ in row)
    cursor = db.execute(f'{verb} INTO "{table}" ({columns}) VALUES ({marks})', list(row.values()))
    return cursor.lastrowid


def _delete_children(db, fit_id: int) -> None:
    for table in ("model_component", "parameter", "latent", "info", "samples"):
        db.execute(f'DELETE FROM "{table}" WHERE "fit_id" = ?', [fit_id])


def _store(db, record: _Record) -> str:
    """Write one checked record inside the ingest's transaction; returns "added",
    "replaced" or "unchanged" (:func:`_store_or_reason` wraps it in a savepoint)."""
    fit = record.fit
    row = db.execute('SELECT "id", "content_hash" FROM "fit" WHERE "identifier" = ?',
                     [fit["identifier"]]).fetchone()
    if row is not None and row[1] == fit["content_hash"]:
        return "unchanged"
    _insert(db, "dataset", record.dataset, verb="INSERT OR IGNORE")
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


def _store_or_reason(db, record: _Record, path):
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
                db.execute('DELETE FROM "dataset" WHERE "hash" NOT IN '
                           '(SELECT "dataset_hash" FROM "fit" WHERE "dataset_hash" IS NOT NULL)')
                report.left_out_of_view = refresh_views(db)
            elif "fit_summary" not in db.view_names():
                refresh_views(db)
        # Copy the write-ahead log into the database file, so that the .sqlite file
        # alone holds everything (waits up to the busy timeout for open readers).
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.close()
    return report
