"""The Aggregator: PyAutoFit's database API over lenspipe's sqlite database.

>>> agg = Aggregator.from_database("results/lenspipe.sqlite")
>>> lenses = agg.query((agg.model.galaxies.lens.mass == "Isothermal")
...                    & (agg.model.galaxies.lens.mass.einstein_radius > 1.0))
>>> for samples in lenses.values("samples"):
...     print(samples.max_log_likelihood_instance)

An Aggregator is an immutable description of a selection of fits (a
condition, an order, a slice); ``query``, ``order_by`` and slicing return new
Aggregators, and nothing is read until it is iterated. Parameter comparisons
use the **maximum-likelihood** value (as PyAutoFit does) unless ``.median`` is
asked for (see :mod:`lenspipe.database.query`). ``values(...)`` and iteration
are generators that read one row at a time, so memory stays flat however many
fits are read. By default only completed fits are selected
(``completed_only=True``).
"""

from __future__ import annotations

import difflib
import json
import sqlite3
import zlib
from typing import NamedTuple

from ..errors import DatabaseError, QueryError
from ..results.codec import decode
from ..results.rebuild import fit_from_result
from ..results.result import ResultDataset
from .grammar import parse, parse_operand
from .query import FIELDS, Condition, FieldPath, QueryRoot
from .schema import npy_array, open_readonly

__all__ = ["Aggregator", "FitRecord", "VALUES"]

_RECORD_COLUMNS = ('"fit"."identifier", "fit"."unique_tag", "fit"."name", "fit"."path_prefix", '
                   '"fit"."completed", "fit"."parent_identifier", "fit"."max_log_likelihood", '
                   '"fit"."log_evidence"')
_JSON_VALUES = ("info", "search", "summary", "profiling", "versions")
_SAMPLE_ARRAYS = ("parameters", "log_likelihood", "log_prior", "weight")
#: Names accepted by :meth:`Aggregator.values`.
VALUES = ("samples", "model", "instance", "latent", "fit", "dataset", "adapt_images", "reconstruction", *_JSON_VALUES,
          *FIELDS)


class FitRecord(NamedTuple):
    """One fit, as iterating an Aggregator yields it (a named tuple: cheap to make)."""

    identifier: str
    unique_tag: str
    name: str
    path_prefix: str
    completed: bool
    parent: str | None
    max_log_likelihood: float | None
    log_evidence: float | None


def _same(value):
    return value


def _bool_or_none(value):
    return None if value is None else bool(value)


def _or_none(value):
    return value or None


def _record(row) -> FitRecord:
    return FitRecord(row[0], row[1], row[2], row[3], bool(row[4]), row[5] or None, row[6], row[7])


#: Tables a query name is looked up in: table -> (column, what the name is called).
_NAMES = {"parameter": ("path", "parameter path"), "model_component": ("path", "component path"),
          "info": ("key", "info key"), "latent": ("name", "latent variable")}

class Aggregator(QueryRoot):
    """A lazily evaluated selection of fits in a results database.

    Parameters
    ----------
    db : sqlite_utils.Database
        An open database (see :meth:`from_database`).
    completed_only : bool
        Select only fits whose search completed.
    """

    def __init__(self, db, *, completed_only: bool = True, where: Condition | None = None,
                 order=(), limit: int | None = None, offset: int = 0, path=None):
        self._db, self._completed_only, self._where = db, completed_only, where
        self._order, self._limit, self._offset, self._path = tuple(order), limit, offset, path
        self._models: dict = {}

    @classmethod
    def from_database(cls, path, completed_only: bool = True) -> "Aggregator":
        """Open the database at ``path`` read-only.

        Raises
        ------
        DatabaseError
            If it is missing, not a lenspipe database or of a newer schema.
        """
        return cls(open_readonly(path), completed_only=completed_only, path=str(path))

    def close(self) -> None:
        """Close the database connection (shared by Aggregators derived from this one)."""
        self._db.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        where = self._where.text if self._where is not None else "all"
        return f"<Aggregator {self._path or ''} {where}>"

    # -- building selections ---------------------------------------------------------
    def _clone(self, **changes) -> "Aggregator":
        fields = dict(where=self._where, order=self._order, limit=self._limit,
                      offset=self._offset, path=self._path)
        fields.update(changes)
        clone = Aggregator(self._db, completed_only=self._completed_only, **fields)
        clone._models = self._models
        return clone

    def _base(self) -> "Aggregator":
        """This selection without a slice (the slice becomes a condition)."""
        if self._limit is None and not self._offset:
            return self
        sql, params = self._select('"fit"."id"')
        return self._clone(where=Condition(f'"fit"."id" IN ({sql})', params, repr(self)),
                           limit=None, offset=0)

    def query(self, condition) -> "Aggregator":
        """Fits of this selection that satisfy ``condition``.

        Parameters
        ----------
        condition : Condition or str
            Built from ``agg.model...``, ``agg.info[...]``, ``agg.unique_tag`` ...
            with ==, !=, <, <=, >, >= and &, |, ~; or a string in the query
            language of :mod:`lenspipe.database.grammar`.
        """
        if isinstance(condition, str):
            condition = parse(condition)
        if not isinstance(condition, Condition):
            raise QueryError(f"query() takes a condition such as agg.unique_tag == 'lens_1', "
                             f"not {condition!r}.")
        self._check_names(condition.refs)
        base = self._base()
        where = condition if base._where is None else base._where & condition
        return base._clone(where=where)

    def order_by(self, *keys, descending: bool = False) -> "Aggregator":
        """This selection ordered by ``keys`` (paths such as
        ``agg.model.galaxies.lens.mass.einstein_radius``, ``agg.unique_tag``,
        ``agg.info["z"]``, or their query-language strings). Fits lacking a key
        come first (SQL NULLs); ties keep ingest order."""
        order = tuple((*self._key(key, self), descending) for key in keys)
        return self._base()._clone(order=order)

    @staticmethod
    def _key(key, aggregator=None):
        if isinstance(key, str):
            key = parse_operand(key)
        if not hasattr(key, "_order_sql"):
            raise QueryError(f"cannot order by {key!r}; give a path such as agg.unique_tag.")
        if aggregator is not None and hasattr(key, "_refs"):
            aggregator._check_names(key._refs())
        return key._order_sql()

    def _check_names(self, refs) -> None:
        """Raise QueryError for a path, info key or latent name no fit in the database has,
        listing the nearest that exist (a typo would otherwise select no fit, silently)."""
        for table, name in sorted(refs):
            column, label = _NAMES[table]
            if self._db.execute(f'SELECT 1 FROM "{table}" WHERE "{column}" = ? LIMIT 1',
                                [name]).fetchone():
                continue
            known = [row[0] for row in self._db.execute(f'SELECT DISTINCT "{column}" FROM "{table}"')]
            if not known:
                continue  # an empty database answers "no fits", not an error
            near = difflib.get_close_matches(name, known, n=5, cutoff=0.5) or sorted(known)[:10]
            raise QueryError(f"no fit in this database has the {label} {name!r}; the nearest are "
                             f"{', '.join(map(repr, near))}")

    def _select(self, columns: str, join: str = "", column_params=()) -> tuple[str, list]:
        params = list(column_params)
        conditions = ['"fit"."completed" = 1'] if self._completed_only else []
        if self._where is not None:
            conditions.append(self._where.sql)
            params.extend(self._where.params)
        sql = f'SELECT {columns} FROM "fit" {join}'
        if conditions:
            sql += " WHERE " + " AND ".join(conditions)
        terms = []
        for key_sql, key_params, descending in self._order:
            terms.append(f"{key_sql} {'DESC' if descending else 'ASC'}")
            params.extend(key_params)
        sql += " ORDER BY " + ", ".join([*terms, '"fit"."id"'])
        if self._limit is not None or self._offset:
            sql += " LIMIT ? OFFSET ?"
            params.extend([-1 if self._limit is None else self._limit, self._offset])
        return sql, params

    def _rows(self, columns: str, join: str = "", column_params=()):
        sql, params = self._select(columns, join, column_params)
        try:
            cursor = self._db.execute(sql, params)
        except sqlite3.Error as error:
            raise DatabaseError(f"query failed: {error}") from error
        yield from cursor

    # -- reading ---------------------------------------------------------------------
    def __len__(self) -> int:
        sql, params = self._select('"fit"."id"')
        return int(self._db.execute(f"SELECT COUNT(*) FROM ({sql})", params).fetchone()[0])

    def __iter__(self):
        for row in self._rows(_RECORD_COLUMNS):
            yield _record(row)

    def __getitem__(self, index):
        if isinstance(index, slice):
            if index.step not in (None, 1):
                raise QueryError("aggregator slices take no step.")
            start, stop = index.start, index.stop
            if (start or 0) < 0 or (stop or 0) < 0:  # negative bounds need the length
                start, stop, _ = index.indices(len(self))
            start = start or 0
            if self._limit is not None:
                stop = self._limit if stop is None else min(stop, self._limit)
            limit = None if stop is None else max(stop - start, 0)
            return self._clone(limit=limit, offset=self._offset + start)
        if not isinstance(index, int):
            raise QueryError(f"index an aggregator with an int or a slice, not {index!r}.")
        position = index + len(self) if index < 0 else index
        records = list(self[position:position + 1]) if position >= 0 else []
        if not records:
            raise IndexError(f"aggregator index {index} out of range")
        return records[0]

    def rows(self, columns):
        """Yield one dict per fit with the given columns (fields, parameter paths,
        ``path.median``, ``info.key``, ``latent.name`` ...), keyed as given."""
        columns = list(columns)
        selected, params = [], []
        for column in columns:
            sql, column_params = self._key(column, self)
            selected.append(sql)
            params.extend(column_params)
        for row in self._rows(", ".join(selected), column_params=params):
            yield dict(zip(columns, row))

    def values(self, name: str):
        """Yield one value per fit, lazily.

        Parameters
        ----------
        name : str
            ``"samples"`` (:class:`~lenspipe.search.samples.Samples`, arrays decoded
            per fit), ``"model"`` (``Model.from_dict``), ``"instance"`` (the
            maximum-likelihood instance), ``"latent"`` (``{name: {"median", "lower_1",
            ...}}``), ``"info"``, ``"search"``, ``"summary"``, ``"profiling"``,
            ``"versions"`` (dicts), ``"dataset"``
            (:class:`~lenspipe.results.result_file.ResultDataset`, with its adapt images),
            ``"adapt_images"`` (``{galaxy: (N,) image}``, empty without), ``"reconstruction"``
            (a pixelized source's :class:`~lenspipe.results.reconstruction.Reconstruction`,
            None for a parametric fit), ``"fit"`` (the maximum-likelihood FitImaging,
            pixelized sources included, through
            :func:`lenspipe.results.rebuild.fit_from_result`), or a fit field
            (``"unique_tag"``, ``"name"``, ``"path_prefix"``, ``"identifier"``,
            ``"parent"`` (None if none), ``"completed"``, ...).
        """
        if name == "samples":
            return self._samples()
        if name in ("model", "instance"):
            return self._models_or_instances(name == "instance")
        if name == "latent":
            return (json.loads(row[0]).get("latent", {}) for row in self._rows('"fit"."summary"'))
        if name in _JSON_VALUES:
            return (json.loads(row[0]) for row in self._rows(f'"fit"."{name}"'))
        if name == "dataset":
            return (self._dataset(row) for row in self._rows(*_DATASET_SELECT))
        if name == "adapt_images":
            return (self._adapt_images(row[0]) for row in self._rows('"fit"."dataset_hash"'))
        if name == "reconstruction":
            return self._reconstructions()
        if name == "fit":
            return self._fits()
        if name in FIELDS:
            sql, _ = FieldPath(name)._order_sql()
            convert = {"completed": bool, "parent": _or_none, "parent_identifier": _or_none,
                       "converged": _bool_or_none}.get(name, _same)
            return (convert(row[0]) for row in self._rows(sql))
        raise QueryError(f"unknown value {name!r}; choose one of {', '.join(VALUES)}.")

    def _model(self, text: str):
        model = self._models.get(text)
        if model is None:
            try:
                from ..model import Model
            except ImportError as error:
                raise DatabaseError("lenspipe.model.Model is not available to rebuild models "
                                    "from the database.") from error
            if len(self._models) > 256:
                self._models.clear()
            model = self._models[text] = Model.from_dict(json.loads(text))
        return model

    def _models_or_instances(self, instance: bool):
        for model_text, summary_text in self._rows('"fit"."model", "fit"."summary"'):
            model = self._model(model_text)
            if instance:
                ml = json.loads(summary_text)["max_log_likelihood_instance"]
                yield model.instance_from_vector([ml[path] for path in model.paths])
            else:
                yield model

    def _samples(self):
        from ..search.samples import Samples

        columns = ('"fit"."identifier", "fit"."model", "samples"."codec", "samples"."n_samples", '
                   '"samples"."n_parameters", "samples"."parameter_paths", '
                   + ", ".join(f'"samples"."{name}"' for name in _SAMPLE_ARRAYS))
        join = 'JOIN "samples" ON "samples"."fit_id" = "fit"."id"'
        for identifier, model_text, codec, count, k, paths, *blobs in self._rows(columns, join):
            if codec != "shuffle8-zlib":
                raise DatabaseError(f"unknown samples codec {codec!r}; upgrade lenspipe.")
            try:
                parameters, *vectors = [decode(blob, shape) for blob, shape in
                                        zip(blobs, ((count, k), (count,), (count,), (count,)))]
            except (zlib.error, ValueError) as error:
                raise DatabaseError(f"the stored samples of fit {identifier} are corrupt; "
                                    "ingest its result file again.") from error
            try:
                model = self._model(model_text)
            except DatabaseError:
                model = None
            yield Samples(model, parameters, *vectors, parameter_paths=json.loads(paths))

    def _fits(self):
        columns = ('"fit"."model", "fit"."search", "fit"."info", "fit"."summary", '
                   '"samples"."parameter_paths", ' + _DATASET_SELECT[0])
        join = ('JOIN "samples" ON "samples"."fit_id" = "fit"."id" ' + _DATASET_SELECT[1])
        for model, search, info, summary, paths, *dataset in self._rows(columns, join):
            ml = json.loads(summary)["max_log_likelihood_instance"]
            yield fit_from_result(model=json.loads(model), dataset=self._dataset(dataset),
                                  max_log_likelihood_vector=[ml[p] for p in json.loads(paths)],
                                  search=json.loads(search), info=json.loads(info))


    def _table(self, name: str) -> bool:
        """Whether the database has a table (a version-1 database has no adapt images or reconstructions)."""
        row = self._db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", [name]).fetchone()
        return row is not None

    def _adapt_images(self, dataset_hash) -> dict:
        if dataset_hash is None or not self._table("adapt_image"):
            return {}
        rows = self._db.execute('SELECT "galaxy", "image" FROM "adapt_image" WHERE "dataset_hash" = ? '
                                'ORDER BY "galaxy"', [dataset_hash])
        return {galaxy: npy_array(blob) for galaxy, blob in rows}

    def _mesh_reference(self, dataset_hash):
        if dataset_hash is None or not self._table("mesh_reference"):
            return None
        row = self._db.execute('SELECT "reference" FROM "mesh_reference" WHERE "dataset_hash" = ?',
                               [dataset_hash]).fetchone()
        return None if row is None else json.loads(row[0])

    def _dataset(self, row) -> ResultDataset:
        dataset_hash, pixel_scale, *blobs = row
        return ResultDataset(pixel_scale=pixel_scale, adapt_images=self._adapt_images(dataset_hash),
                             mesh_reference=self._mesh_reference(dataset_hash),
                             **{key: npy_array(blob) for key, blob in zip(_DATASET_ARRAYS, blobs)})

    def _reconstructions(self):
        from ..results.reconstruction import ARRAYS, Reconstruction

        if not self._table("reconstruction"):
            yield from (None for _ in self._rows('"fit"."id"'))
            return
        columns = ('"reconstruction"."galaxy", "reconstruction"."mesh", "reconstruction"."regularization", '
                   '"reconstruction"."log_evidence", "reconstruction"."terms", '
                   + ", ".join(f'"reconstruction"."{name}"' for name in ARRAYS))
        join = 'LEFT JOIN "reconstruction" ON "reconstruction"."fit_id" = "fit"."id"'
        for galaxy, mesh, regularization, log_evidence, terms, *blobs in self._rows(columns, join):
            if galaxy is None:
                yield None
                continue
            yield Reconstruction(galaxy, mesh, regularization, log_evidence=log_evidence, terms=json.loads(terms),
                                 **{name: npy_array(blob) for name, blob in zip(ARRAYS, blobs)})


_DATASET_ARRAYS = ("data", "noise_map", "psf", "mask", "positions")
_DATASET_SELECT = (
    '"dataset"."hash", "dataset"."pixel_scale", ' + ", ".join(f'"dataset"."{key}"' for key in _DATASET_ARRAYS),
    'JOIN "dataset" ON "dataset"."hash" = "fit"."dataset_hash"',
)
