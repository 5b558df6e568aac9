"""Query expressions compiled to parameterised SQL.

Attribute access builds *paths*; comparing a path with a value gives a
:class:`Condition` (an SQL fragment and its parameters); conditions combine
with ``&``, ``|`` and ``~``. Values never enter the SQL text: they are bound
parameters. Names (path segments, statistics, fields) are checked against
``[A-Za-z_][A-Za-z0-9_]*`` or a fixed list before use.

Semantics
---------
- ``model.galaxies.lens.mass == Isothermal`` (or ``== "Isothermal"``): the fit
  has a component at that path of that class; ``!=``: a component at that
  path of another class. Only ``==`` and ``!=`` apply to classes.
- ``model.galaxies.lens.mass.einstein_radius > 1.0`` compares the
  **maximum-likelihood** value, as PyAutoFit does; append ``.median`` (or
  ``.lower_1``, ``.upper_1``, ``.lower_3``, ``.upper_3``: values at 1 and 3
  sigma) to compare that statistic instead.
- ``info["survey"] == "SLACS"`` (or ``info.survey``) compares a top-level info
  value (booleans are stored as 0/1); a string matches only strings and a
  number only numbers; ``latent.name`` compares a latent
  variable's median (``.lower_1`` ... as for parameters).
- ``unique_tag``, ``name``, ``path_prefix``, ``identifier``, ``parent``,
  ``completed``, ``max_log_likelihood``, ``log_evidence`` compare the fit's
  own columns; ``search.name`` is the stage name, other ``search.x.y`` read the
  search JSON.
- A comparison is false for a fit that lacks the component, parameter, info
  key or latent variable, so ``~c`` is exactly the fits for which ``c`` is false.
"""

from __future__ import annotations

import math
import numbers
import re

from ..errors import ModelError, QueryError
from .schema import DERIVED_FIELDS

__all__ = ["Condition", "QueryRoot", "ModelPath", "FieldPath", "InfoItem", "LatentItem",
           "SearchPath", "FIELDS", "STATISTICS"]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_OPERATORS = {"==": "=", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
STATISTICS = ("max_likelihood", "median", "lower_1", "upper_1", "lower_3", "upper_3")
#: Query name -> (column of the ``fit`` table, "text" or "number", nullable).
FIELDS = {
    "identifier": ("identifier", "text", False), "unique_tag": ("unique_tag", "text", False),
    "name": ("name", "text", False), "path_prefix": ("path_prefix", "text", False),
    "parent": ("parent_identifier", "text", False),
    "parent_identifier": ("parent_identifier", "text", False),
    "completed": ("completed", "number", False),
    "max_log_likelihood": ("max_log_likelihood", "number", True),
    "log_evidence": ("log_evidence", "number", True), "n_samples": ("n_samples", "number", False),
    "created": ("created", "text", True), "seed": ("seed", "number", True),
    "config_hash": ("config_hash", "text", True),
    # diagnostics (schema.DERIVED_FIELDS): converged is 1 or 0, the others numbers
    "converged": (None, "number", True), "steps": (None, "number", True),
    "max_tau": (None, "number", True), "rhat": (None, "number", True),
    "wall_time_s": (None, "number", True), "fit_log_evidence": (None, "number", True),
    "warnings": (None, "number", False), "warning_codes": (None, "text", True),
}
_SQL_TYPES = {str: "('text')", float: "('integer', 'real')", int: "('integer', 'real')"}


def _name(name) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise QueryError(f"{name!r} is not a valid name: use letters, digits and underscores, "
                         "not starting with a digit.")
    return name


def _number(value) -> float | None:
    """``value`` as a float if it is a real number (not a bool), else None."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    try:
        value = float(value)
    except OverflowError:
        raise QueryError(f"the number {str(value)[:20]}... is too large to compare (beyond "
                         "1.8e308).") from None
    if math.isnan(value):
        raise QueryError("cannot compare with NaN (SQLite stores NaN as NULL).")
    return value


def _text(value: str) -> str:
    """A string SQLite can store: valid UTF-8 (no lone surrogates)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as error:
        raise QueryError(f"the string {value!r} is not valid text (character {error.start} is a "
                         "lone surrogate); type the text again.") from None
    return value


def _scalar(value, what: str):
    """A value bindable as an SQL parameter: str, float, or bool as 0/1."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, str):
        return _text(value)
    number = _number(value)
    if number is None:
        raise QueryError(f"cannot compare {what} with {value!r}: use a string or a number.")
    return number


class Condition:
    """A compiled query condition: ``sql`` with ``?`` placeholders and ``params``.

    Combine with ``&`` (and), ``|`` (or), ``~`` (not). Python's ``and``,
    ``or``, ``not`` and ``if condition:`` raise QueryError.
    """

    __slots__ = ("sql", "params", "text", "refs")

    def __init__(self, sql: str, params=(), text: str = "", refs=frozenset()):
        self.sql, self.params, self.text = sql, tuple(params), text or sql
        #: (table, name) pairs the condition reads, checked against the database so that a
        #: misspelt path is an error rather than an empty answer.
        self.refs = frozenset(refs)

    def _other(self, other) -> "Condition":
        if not isinstance(other, Condition):
            raise QueryError(f"cannot combine a query condition with {other!r}; put parentheses "
                             "around comparisons: (a > 1) & (b == 2).")
        return other

    def __and__(self, other):
        other = self._other(other)
        return Condition(f"({self.sql} AND {other.sql})", self.params + other.params,
                         f"({self.text} & {other.text})", self.refs | other.refs)

    def __or__(self, other):
        other = self._other(other)
        return Condition(f"({self.sql} OR {other.sql})", self.params + other.params,
                         f"({self.text} | {other.text})", self.refs | other.refs)

    def __invert__(self):
        return Condition(f"(NOT {self.sql})", self.params, f"~{self.text}", self.refs)

    def __bool__(self):
        raise QueryError("a query condition has no truth value: combine conditions with &, | "
                         "and ~ (not and, or, not) and put parentheses around comparisons.")

    def __repr__(self):
        return f"Condition({self.text})"


class _Comparable:
    """Shared comparison operators; subclasses define ``_compare(op, value)``."""

    __array_ufunc__ = None  # make numpy scalars defer to our reflected operators
    __hash__ = None

    def __eq__(self, value):
        return self._compare("==", value)

    def __ne__(self, value):
        return self._compare("!=", value)

    def __lt__(self, value):
        return self._compare("<", value)

    def __le__(self, value):
        return self._compare("<=", value)

    def __gt__(self, value):
        return self._compare(">", value)

    def __ge__(self, value):
        return self._compare(">=", value)

    def __bool__(self):
        raise QueryError(f"{self!r} is a query path, not a value: compare it with a value.")


def _in_table(table: str, key_sql: str, key_params, op: str, column: str, value, text: str):
    sql = (f'"fit"."id" IN (SELECT "fit_id" FROM "{table}" WHERE {key_sql} '
           f'AND "{column}" {_OPERATORS[op]} ?)')
    return Condition(sql, (*key_params, value), text, {(table, key_params[0])})


class ModelPath(_Comparable):
    """A path into the model: a component (compare with a class) or a parameter
    (compare with a number; maximum-likelihood value unless a statistic is named)."""

    def __init__(self, parts=(), statistic=None):
        self._parts, self._statistic = tuple(parts), statistic

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        if self._statistic is not None:
            raise QueryError(f"{self!r}: nothing follows a statistic ({self._statistic}).")
        if name in STATISTICS:
            return ModelPath(self._parts, name)
        return ModelPath((*self._parts, _name(name)))

    @property
    def path(self) -> str:
        """The dotted path."""
        return ".".join(self._parts)

    def __repr__(self):
        suffix = f".{self._statistic}" if self._statistic else ""
        return f"model.{self.path}{suffix}"

    def _compare(self, op, value):
        if not self._parts:
            raise QueryError("name a component or parameter of the model, e.g. "
                             "model.galaxies.lens.mass.einstein_radius.")
        if isinstance(value, (type, str)):
            if self._statistic is not None or op not in ("==", "!="):
                raise QueryError(f"{self!r} {op} {value!r}: a class can only be compared with "
                                 "== or != on a component path.")
            return _in_table("model_component", '"path" = ?', (self.path,), op, "class",
                             _class_name(value), f"{self!r} {op} {_class_name(value)}")
        number = _number(value)
        if number is None:
            raise QueryError(f"{self!r} {op} {value!r}: compare a parameter with a number or a "
                             "component with a class.")
        column = self._statistic or "max_likelihood"
        return _in_table("parameter", '"path" = ?', (self.path,), op, column, number,
                         f"{self!r} {op} {number!r}")

    def _order_sql(self):
        return ('(SELECT "{}" FROM "parameter" WHERE "fit_id" = "fit"."id" AND "path" = ?)'
                .format(self._statistic or "max_likelihood"), (self.path,))

    def _refs(self):
        return {("parameter", self.path)}


def _class_name(value) -> str:
    if isinstance(value, str):
        return value
    from ..model.registry import name_from_class

    try:
        return name_from_class(value)
    except ModelError:  # not registered: the class's own name
        return value.__name__


class FieldPath(_Comparable):
    """A column of the ``fit`` table (``unique_tag``, ``name``, ...)."""

    def __init__(self, name):
        if name not in FIELDS:
            raise QueryError(f"unknown fit field {name!r}; fields are {', '.join(FIELDS)}.")
        self._field = name
        column, self._kind, self._nullable = FIELDS[name]
        self._sql = DERIVED_FIELDS[name] if column is None else f'"fit"."{column}"'

    def __repr__(self):
        return self._field

    def _compare(self, op, value):
        column = self._sql
        if value is None and op in ("==", "!="):
            verb = "IS NULL" if op == "==" else "IS NOT NULL"
            return Condition(f"{column} {verb}", (), f"{self!r} {op} None")
        value = _scalar(value, self._field)
        if isinstance(value, str) != (self._kind == "text"):
            raise QueryError(f"{self!r} {op} {value!r}: {self._field} is a {self._kind}; compare "
                             f"it with a {'string' if self._kind == 'text' else 'number'}.")
        sql = f"{column} {_OPERATORS[op]} ?"
        if self._nullable:  # two-valued: false (not NULL) where the column is NULL
            sql = f"({sql} AND {column} IS NOT NULL)"
        return Condition(sql, (value,), f"{self!r} {op} {value!r}")

    def _order_sql(self):
        return self._sql, ()


class InfoItem(_Comparable):
    """A top-level key of the fits' info JSON (any string; bound as a parameter)."""

    def __init__(self, key):
        if not isinstance(key, str):
            raise QueryError(f"info keys are strings, not {key!r}.")
        self._key = key

    def __repr__(self):
        return f"info[{self._key!r}]"

    def _compare(self, op, value):
        value = _scalar(value, repr(self))
        sql = (f'"fit"."id" IN (SELECT "fit_id" FROM "info" WHERE "key" = ? AND "value" '
               f'{_OPERATORS[op]} ? AND typeof("value") IN {_SQL_TYPES[type(value)]})')
        return Condition(sql, (self._key, value), f"{self!r} {op} {value!r}", self._refs())

    def _order_sql(self):
        return ('(SELECT "value" FROM "info" WHERE "fit_id" = "fit"."id" AND "key" = ?)',
                (self._key,))

    def _refs(self):
        return {("info", self._key)}


class LatentItem(_Comparable):
    """A latent variable; compares its median unless another statistic is named."""

    def __init__(self, name, statistic="median"):
        self._latent, self._statistic = _name(name), statistic

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        if name not in STATISTICS[1:]:
            raise QueryError(f"latent variables have {', '.join(STATISTICS[1:])}, not {name!r}.")
        return LatentItem(self._latent, name)

    def __repr__(self):
        return f"latent.{self._latent}.{self._statistic}"

    def _compare(self, op, value):
        number = _number(value)
        if number is None:
            raise QueryError(f"{self!r} {op} {value!r}: compare a latent variable with a number.")
        return _in_table("latent", '"name" = ?', (self._latent,), op, self._statistic, number,
                         f"{self!r} {op} {number!r}")

    def _order_sql(self):
        return (f'(SELECT "{self._statistic}" FROM "latent" WHERE "fit_id" = "fit"."id" '
                'AND "name" = ?)', (self._latent,))

    def _refs(self):
        return {("latent", self._latent)}


class SearchPath(_Comparable):
    """``search.name`` / ``search.unique_tag`` / ``search.path_prefix`` are fit
    columns; any other ``search.x.y`` reads the search JSON."""

    def __init__(self, parts=()):
        self._parts = tuple(parts)

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        if len(self._parts) == 0 and name in ("name", "unique_tag", "path_prefix"):
            return FieldPath(name)
        return SearchPath((*self._parts, _name(name)))

    def __repr__(self):
        return "search." + ".".join(self._parts)

    def _json_path(self):
        if not self._parts:
            raise QueryError("name a search setting, e.g. search.name or search.nwalkers.")
        return "$." + ".".join(f'"{part}"' for part in self._parts)

    def _compare(self, op, value):
        value = _scalar(value, repr(self))
        path = self._json_path()
        sql = (f'(json_extract("fit"."search", ?) {_OPERATORS[op]} ? AND '
               f'typeof(json_extract("fit"."search", ?)) IN {_SQL_TYPES[type(value)]})')
        return Condition(sql, (path, value, path), f"{self!r} {op} {value!r}")

    def _order_sql(self):
        return 'json_extract("fit"."search", ?)', (self._json_path(),)


class _Namespace:
    """``info[...]`` / ``info.key`` and ``latent[...]`` / ``latent.name``."""

    def __init__(self, factory, label):
        self._factory, self._label = factory, label

    def __getitem__(self, key):
        return self._factory(key)

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        return self._factory(name)

    def __repr__(self):
        return self._label


class QueryRoot:
    """The names a query starts from: ``model``, ``search``, ``info``,
    ``latent`` and the fit fields (``unique_tag``, ``name``, ...)."""

    @property
    def model(self) -> ModelPath:
        """The model tree: ``model.galaxies.lens.mass``."""
        return ModelPath()

    @property
    def search(self) -> SearchPath:
        """The search: ``search.name`` (stage), ``search.<setting>``."""
        return SearchPath()

    @property
    def info(self) -> _Namespace:
        """Info values: ``info["survey"]``."""
        return _Namespace(InfoItem, "info")

    @property
    def latent(self) -> _Namespace:
        """Latent variables: ``latent.einstein_mass``."""
        return _Namespace(LatentItem, "latent")

    def field(self, name: str) -> FieldPath:
        """A fit field by name (``"unique_tag"``, ``"name"``, ...)."""
        return FieldPath(name)

    unique_tag = property(lambda self: FieldPath("unique_tag"), doc="The dataset's tag.")
    name = property(lambda self: FieldPath("name"), doc="The stage (search) name.")
    path_prefix = property(lambda self: FieldPath("path_prefix"), doc="The output path prefix.")
    identifier = property(lambda self: FieldPath("identifier"), doc="The fit identifier.")
    parent = property(lambda self: FieldPath("parent"), doc="The parent fit's identifier.")
    completed = property(lambda self: FieldPath("completed"), doc="Whether the search finished.")
    max_log_likelihood = property(lambda self: FieldPath("max_log_likelihood"),
                                  doc="The highest log-likelihood of the samples.")
    log_evidence = property(lambda self: FieldPath("log_evidence"), doc="Log evidence (if known).")
