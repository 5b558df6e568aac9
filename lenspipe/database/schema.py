"""The results database's schema, its migrations, and how it is opened.

Tables (schema version 3):

``fit``
    One row per fit: ``identifier`` (unique), ``unique_tag``, ``name`` (stage),
    ``path_prefix``, ``parent_identifier`` ("" if none), ``completed`` (0/1),
    ``max_log_likelihood``, ``log_evidence``, ``n_samples``, ``n_parameters``,
    ``seed``, ``config_hash``, ``created``, ``lenspipe_version``, ``versions``,
    the ``model``, ``search``, ``summary``, ``info`` and ``profiling`` JSON,
    ``dataset_hash``, ``content_hash`` (what ingest compares), ``source`` (the
    file), ``ingested`` (time).
``model_component``
    ``(fit_id, path, class)``: e.g. ``galaxies.lens.mass`` / ``Isothermal``.
``parameter``
    ``(fit_id, path, max_likelihood, median, lower_1, upper_1, lower_3, upper_3)``,
    the bounds being values at 1 and 3 sigma.
``latent``
    ``(fit_id, name, median, lower_1, upper_1, lower_3, upper_3)``.
``info``
    ``(fit_id, key, value)``: top-level info keys; strings, numbers (booleans
    as 0/1) stored as such, anything else as JSON text.
``samples``
    ``(fit_id, codec, n_samples, n_parameters, parameter_paths, parameters,
    log_likelihood, log_prior, weight)``. Codec ``shuffle8-zlib``: the float64
    array's bytes split into 8 byte planes (HDF5's shuffle filter), then zlib;
    decode with :func:`lenspipe.results.codec.decode`.
``dataset``
    Keyed by content ``hash`` (shared by the stages of one lens): ``pixel_scale``
    and ``data``, ``noise_map``, ``psf``, ``mask``, ``positions`` as ``.npy``
    bytes (``numpy.load(io.BytesIO(blob))``).
``adapt_image`` (version 2)
    ``(dataset_hash, galaxy, image)``: the adapt images a dataset was fitted with (part of
    its content hash), ``.npy`` bytes of the (N,) image on the fitted pixels.
``reconstruction`` (version 2)
    ``(fit_id, galaxy, mesh, regularization, log_evidence, terms, vertices, values, noise_map,
    areas)``: a pixelized source's reconstruction at the maximum-likelihood model
    (:mod:`lenspipe.results.reconstruction`), arrays as ``.npy`` bytes, ``terms`` JSON.
``mesh_reference`` (version 3)
    ``(dataset_hash, reference)``: the model and vector (JSON) whose mass held a pixelized
    source's mesh (``inversion.hold_mesh``; part of the dataset's content hash).
``schema_version``
    One row per applied migration. A database made at version 1 is migrated on its next
    ingest; fits it already holds gain their adapt images and reconstructions when their
    result files are ingested into a new database.

Views: ``parameter_summary`` and ``latent_summary`` (one row per fit and
parameter, with errors = distances of the 1 and 3 sigma values from the
median) and ``fit_summary`` (one row per fit, columns ``<path>.median``,
``<path>.error_lower_1`` ... for every parameter path in the database,
rebuilt by each ingest).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import io
import re
import sqlite3
from pathlib import Path

import numpy as np
import sqlite_utils

from ..errors import DatabaseError

__all__ = [
    "SCHEMA_VERSION",
    "SAMPLES_CODEC",
    "MIGRATIONS",
    "open_database",
    "open_readonly",
    "write_transaction",
    "BUSY_TIMEOUT_S",
    "schema_version",
    "migrate",
    "refresh_views",
    "quote",
    "valid_path",
    "npy_bytes",
    "npy_array",
]

SCHEMA_VERSION = 3
SAMPLES_CODEC = "shuffle8-zlib"
STATISTICS = ("max_likelihood", "median", "lower_1", "upper_1", "lower_3", "upper_3")
_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*\Z")
#: Page size of a new database: large pages suit the megabyte sample blobs.
PAGE_SIZE = 16384
#: Page cache of a writing connection (KiB).
CACHE_KIB = 65536
#: SQLite's default limit is 2000 columns; fit_summary keeps under it.
_MAX_VIEW_COLUMNS = 1900

_V1 = [
    """CREATE TABLE "dataset" (
        "hash" TEXT PRIMARY KEY, "pixel_scale" REAL NOT NULL, "data" BLOB NOT NULL,
        "noise_map" BLOB NOT NULL, "psf" BLOB NOT NULL, "mask" BLOB NOT NULL,
        "positions" BLOB NOT NULL)""",
    """CREATE TABLE "fit" (
        "id" INTEGER PRIMARY KEY, "identifier" TEXT NOT NULL UNIQUE,
        "unique_tag" TEXT NOT NULL, "name" TEXT NOT NULL, "path_prefix" TEXT NOT NULL,
        "parent_identifier" TEXT NOT NULL, "completed" INTEGER NOT NULL,
        "max_log_likelihood" REAL, "log_evidence" REAL, "n_samples" INTEGER NOT NULL,
        "n_parameters" INTEGER NOT NULL, "seed" INTEGER, "config_hash" TEXT, "created" TEXT,
        "lenspipe_version" TEXT, "versions" TEXT, "model" TEXT NOT NULL, "search" TEXT NOT NULL,
        "summary" TEXT NOT NULL, "info" TEXT NOT NULL, "profiling" TEXT NOT NULL,
        "dataset_hash" TEXT REFERENCES "dataset" ("hash"), "content_hash" TEXT NOT NULL,
        "source" TEXT, "ingested" TEXT)""",
    'CREATE INDEX "fit_unique_tag" ON "fit" ("unique_tag")',
    'CREATE INDEX "fit_name" ON "fit" ("name")',
    'CREATE INDEX "fit_path_prefix" ON "fit" ("path_prefix")',
    'CREATE INDEX "fit_parent_identifier" ON "fit" ("parent_identifier")',
    'CREATE INDEX "fit_completed" ON "fit" ("completed")',
    'CREATE INDEX "fit_dataset_hash" ON "fit" ("dataset_hash")',
    """CREATE TABLE "model_component" (
        "fit_id" INTEGER NOT NULL REFERENCES "fit" ("id") ON DELETE CASCADE,
        "path" TEXT NOT NULL, "class" TEXT NOT NULL, PRIMARY KEY ("fit_id", "path")
    ) WITHOUT ROWID""",
    'CREATE INDEX "model_component_path_class" ON "model_component" ("path", "class")',
    """CREATE TABLE "parameter" (
        "fit_id" INTEGER NOT NULL REFERENCES "fit" ("id") ON DELETE CASCADE,
        "path" TEXT NOT NULL, "max_likelihood" REAL, "median" REAL, "lower_1" REAL,
        "upper_1" REAL, "lower_3" REAL, "upper_3" REAL, PRIMARY KEY ("fit_id", "path")
    ) WITHOUT ROWID""",
    'CREATE INDEX "parameter_path_max_likelihood" ON "parameter" ("path", "max_likelihood")',
    'CREATE INDEX "parameter_path_median" ON "parameter" ("path", "median")',
    """CREATE TABLE "latent" (
        "fit_id" INTEGER NOT NULL REFERENCES "fit" ("id") ON DELETE CASCADE,
        "name" TEXT NOT NULL, "median" REAL, "lower_1" REAL, "upper_1" REAL, "lower_3" REAL,
        "upper_3" REAL, PRIMARY KEY ("fit_id", "name")
    ) WITHOUT ROWID""",
    'CREATE INDEX "latent_name_median" ON "latent" ("name", "median")',
    """CREATE TABLE "info" (
        "fit_id" INTEGER NOT NULL REFERENCES "fit" ("id") ON DELETE CASCADE,
        "key" TEXT NOT NULL, "value", PRIMARY KEY ("fit_id", "key")
    ) WITHOUT ROWID""",
    'CREATE INDEX "info_key_value" ON "info" ("key", "value")',
    """CREATE TABLE "samples" (
        "fit_id" INTEGER PRIMARY KEY REFERENCES "fit" ("id") ON DELETE CASCADE,
        "codec" TEXT NOT NULL, "n_samples" INTEGER NOT NULL, "n_parameters" INTEGER NOT NULL,
        "parameter_paths" TEXT NOT NULL, "parameters" BLOB NOT NULL,
        "log_likelihood" BLOB NOT NULL, "log_prior" BLOB NOT NULL, "weight" BLOB NOT NULL)""",
    """CREATE VIEW "parameter_summary" AS SELECT
        "fit"."identifier", "fit"."unique_tag", "fit"."name", "fit"."path_prefix",
        "fit"."completed", "parameter"."path", "parameter"."max_likelihood",
        "parameter"."median",
        "parameter"."median" - "parameter"."lower_1" AS "error_lower_1",
        "parameter"."upper_1" - "parameter"."median" AS "error_upper_1",
        "parameter"."median" - "parameter"."lower_3" AS "error_lower_3",
        "parameter"."upper_3" - "parameter"."median" AS "error_upper_3",
        "parameter"."lower_1", "parameter"."upper_1", "parameter"."lower_3", "parameter"."upper_3"
        FROM "parameter" JOIN "fit" ON "fit"."id" = "parameter"."fit_id\"""",
    """CREATE VIEW "latent_summary" AS SELECT
        "fit"."identifier", "fit"."unique_tag", "fit"."name", "fit"."path_prefix",
        "fit"."completed", "latent"."name" AS "latent", "latent"."median",
        "latent"."median" - "latent"."lower_1" AS "error_lower_1",
        "latent"."upper_1" - "latent"."median" AS "error_upper_1",
        "latent"."median" - "latent"."lower_3" AS "error_lower_3",
        "latent"."upper_3" - "latent"."median" AS "error_upper_3"
        FROM "latent" JOIN "fit" ON "fit"."id" = "latent"."fit_id\"""",
]

_V2 = [
    """CREATE TABLE "adapt_image" (
        "dataset_hash" TEXT NOT NULL REFERENCES "dataset" ("hash") ON DELETE CASCADE,
        "galaxy" TEXT NOT NULL, "image" BLOB NOT NULL, PRIMARY KEY ("dataset_hash", "galaxy")
    ) WITHOUT ROWID""",
    """CREATE TABLE "reconstruction" (
        "fit_id" INTEGER PRIMARY KEY REFERENCES "fit" ("id") ON DELETE CASCADE,
        "galaxy" TEXT NOT NULL, "mesh" TEXT NOT NULL, "regularization" TEXT NOT NULL,
        "log_evidence" REAL, "terms" TEXT NOT NULL, "vertices" BLOB NOT NULL, "values" BLOB NOT NULL,
        "noise_map" BLOB NOT NULL, "areas" BLOB NOT NULL)""",
    'CREATE INDEX "reconstruction_mesh" ON "reconstruction" ("mesh")',
]

_V3 = [
    """CREATE TABLE "mesh_reference" (
        "dataset_hash" TEXT PRIMARY KEY REFERENCES "dataset" ("hash") ON DELETE CASCADE, "reference" TEXT NOT NULL
    ) WITHOUT ROWID""",
]

#: ``(version, description, statements)``, applied in order by :func:`migrate`.
MIGRATIONS = [(1, "initial schema", _V1),
              (2, "adapt images and pixelized-source reconstructions", _V2),
              (3, "held source meshes' references", _V3)]

#: Diagnostics read from a fit's stored search and profiling JSON, queryable as fields and
#: columns of ``fit_summary``: name -> SQL expression over the ``fit`` row.
DERIVED_FIELDS = {
    "converged": """json_extract("fit"."search", '$.diagnostics.converged')""",
    "steps": """json_extract("fit"."search", '$.diagnostics.steps')""",
    "max_tau": """(SELECT MAX("value") FROM json_each("fit"."search", '$.diagnostics.tau'))""",
    "rhat": """(SELECT MAX("value") FROM json_each("fit"."search", '$.diagnostics.rhat'))""",
    "wall_time_s": """json_extract("fit"."profiling", '$.wall_time_s')""",
    "fit_log_evidence": """json_extract("fit"."summary", '$.fit_log_evidence')""",
    "warnings": """COALESCE(json_array_length("fit"."summary", '$.warnings'), 0)""",
    "warning_codes": """(SELECT group_concat(json_extract("value", '$.code'), ',') """
                     """FROM json_each("fit"."summary", '$.warnings'))""",
}

_FIT_COLUMNS = ('"fit"."id"', '"fit"."identifier"', '"fit"."unique_tag"', '"fit"."name"',
                '"fit"."path_prefix"', '"fit"."parent_identifier"', '"fit"."completed"',
                '"fit"."max_log_likelihood"', '"fit"."log_evidence"',
                *(f'{sql} AS "{name}"' for name, sql in DERIVED_FIELDS.items()))


def quote(name: str) -> str:
    """``name`` as a quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def valid_path(path: str) -> bool:
    """Whether ``path`` is a dotted Python-identifier path (``galaxies.lens.mass``)."""
    return isinstance(path, str) and _PATH.match(path) is not None


def npy_bytes(array: np.ndarray) -> bytes:
    """``array`` in ``.npy`` format (self-describing, no pickle)."""
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.asarray(array), allow_pickle=False)
    return buffer.getvalue()


def npy_array(blob: bytes) -> np.ndarray:
    """Inverse of :func:`npy_bytes`."""
    return np.lib.format.read_array(io.BytesIO(blob), allow_pickle=False)


#: How long a writer waits for another's write lock before giving up, seconds.
BUSY_TIMEOUT_S = 60.0


@contextlib.contextmanager
def write_transaction(db: sqlite_utils.Database):
    """A write transaction that takes the write lock first (``BEGIN IMMEDIATE``).

    A plain (deferred) transaction that has read and then writes cannot wait for another
    writer in WAL mode: SQLite answers "database is locked" at once, whatever the busy
    timeout. Taking the lock at the start waits up to the busy timeout instead.

    Raises
    ------
    DatabaseError
        If another process held the write lock for the whole busy timeout.
    """
    try:
        db.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as error:
        if "locked" not in str(error) and "busy" not in str(error):
            raise
        timeout = db.execute("PRAGMA busy_timeout").fetchone()[0] / 1000
        raise DatabaseError(f"{_name(db)}: another process (another `lenspipe ingest`?) held the "
                            f"database's write lock for {timeout:g} s; run this ingest again when "
                            "it has finished") from None
    try:
        yield db
    except BaseException:
        if db.conn.in_transaction:
            db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def schema_version(db: sqlite_utils.Database) -> int:
    """The database's schema version; 0 for a database without lenspipe tables."""
    if "schema_version" not in db.table_names():
        return 0
    row = db.execute('SELECT MAX("version") FROM "schema_version"').fetchone()
    return int(row[0] or 0)


def migrate(db: sqlite_utils.Database) -> int:
    """Apply pending migrations in one transaction; returns the new version.

    Raises
    ------
    DatabaseError
        If the database is newer than this lenspipe, or holds other tables
        and is not a lenspipe database.
    """
    current = schema_version(db)
    if current > SCHEMA_VERSION:
        raise DatabaseError(f"{_name(db)} has schema version {current}, newer than this "
                            f"lenspipe understands ({SCHEMA_VERSION}); upgrade lenspipe.")
    if current == 0 and db.table_names():
        raise DatabaseError(f"{_name(db)} is an sqlite database but not a lenspipe results "
                            "database; give a new file or an existing lenspipe database.")
    if current == SCHEMA_VERSION:
        return current
    with write_transaction(db):
        current = schema_version(db)  # another ingest may have migrated it while we waited
        if current == 0:
            db.execute('CREATE TABLE "schema_version" ("version" INTEGER PRIMARY KEY, '
                       '"description" TEXT NOT NULL, "applied" TEXT NOT NULL)')
        for version, description, statements in MIGRATIONS:
            if version <= current:
                continue
            for statement in statements:
                db.execute(statement)
            db.execute('INSERT INTO "schema_version" ("version", "description", "applied") '
                       'VALUES (?, ?, ?)',
                       [version, description, _dt.datetime.now(_dt.timezone.utc).isoformat()])
    return SCHEMA_VERSION


def _name(db) -> str:
    row = db.execute("PRAGMA database_list").fetchone()
    return row[2] or "the database"


def open_database(path, busy_timeout: float = BUSY_TIMEOUT_S) -> sqlite_utils.Database:
    """Open (creating if needed) the database for writing, migrated to the
    current schema, in WAL mode so that readers work during a write.

    ``busy_timeout`` (seconds) is how long to wait for another writer's lock."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        db = sqlite_utils.Database(sqlite3.connect(str(path), timeout=busy_timeout),
                                   execute_plugins=False)
        db.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        db.execute(f"PRAGMA page_size = {PAGE_SIZE}")  # takes effect only on a new file
        db.execute(f"PRAGMA cache_size = {-CACHE_KIB}")
        db.enable_wal()
        db.execute("PRAGMA synchronous = NORMAL")
        db.execute("PRAGMA foreign_keys = ON")
        db.execute("PRAGMA journal_size_limit = 67108864")
        migrate(db)
    except sqlite3.DatabaseError as error:
        raise DatabaseError(f"{path}: cannot open as a lenspipe database: {error}") from error
    return db


def open_readonly(path) -> sqlite_utils.Database:
    """Open an existing database read-only, checking its schema version.

    Raises
    ------
    DatabaseError
        If the file is missing, not an sqlite database, not a lenspipe database,
        or of a newer schema.
    """
    path = Path(path)
    if not path.is_file():
        raise DatabaseError(f"{path}: no such database; create it with `lenspipe ingest`.")
    uri = "file:" + path.resolve().as_posix().replace("?", "%3f").replace("#", "%23") + "?mode=ro"
    try:
        db = sqlite_utils.Database(sqlite3.connect(uri, uri=True, check_same_thread=False),
                                   execute_plugins=False)
        db.execute("PRAGMA busy_timeout = 60000")
        version = schema_version(db)
    except sqlite3.DatabaseError as error:
        raise DatabaseError(f"{path}: cannot open as a lenspipe database: {error}") from error
    if version != SCHEMA_VERSION:
        db.close()
        newer = version > SCHEMA_VERSION
        raise DatabaseError(
            f"{path}: " + (f"schema version {version} is newer than this lenspipe "
                           f"({SCHEMA_VERSION}); upgrade lenspipe." if newer else
                           "not an up-to-date lenspipe database; run `lenspipe ingest` on it "
                           "to create or migrate it."))
    return db


def _summary_columns(kind: str, table: str, key: str, name: str) -> list[str]:
    select = f'(SELECT {{}} FROM "{table}" WHERE "fit_id" = "fit"."id" AND "{key}" = \'{name}\')'
    prefix = f"latent.{name}" if kind == "latent" else name
    median = select.format('"median"')
    columns = []
    if kind == "parameter":
        ml = select.format(quote("max_likelihood"))
        columns.append(f'{ml} AS {quote(prefix + ".max_likelihood")}')
    columns.append(f"{median} AS {quote(prefix + '.median')}")
    for sigma in ("1", "3"):
        lower, upper = select.format(f'"lower_{sigma}"'), select.format(f'"upper_{sigma}"')
        columns.append(f"{median} - {lower} AS {quote(f'{prefix}.error_lower_{sigma}')}")
        columns.append(f"{upper} - {median} AS {quote(f'{prefix}.error_upper_{sigma}')}")
    return columns


def refresh_views(db: sqlite_utils.Database) -> list[str]:
    """(Re)create the wide ``fit_summary`` view for the paths now present.

    Only validated dotted names reach the view's SQL. Returns the parameter
    paths and latent names left out because the view would exceed SQLite's
    column limit (normally none).
    """
    columns, left_out = list(_FIT_COLUMNS), []
    for kind, table, key in (("parameter", "parameter", "path"), ("latent", "latent", "name")):
        names = [row[0] for row in db.execute(f'SELECT DISTINCT "{key}" FROM "{table}" ORDER BY 1')]
        for name in names:
            if not valid_path(name) or len(columns) + 7 > _MAX_VIEW_COLUMNS:
                left_out.append(name)
                continue
            columns.extend(_summary_columns(kind, table, key, name))
    sql = "SELECT " + ", ".join(columns) + ' FROM "fit"'
    db.create_view("fit_summary", sql, replace=True)
    return left_out
