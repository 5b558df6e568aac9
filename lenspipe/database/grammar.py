"""The query language of ``lenspipe query`` and ``Aggregator.query("...")``.

A tokeniser and a recursive-descent parser; nothing is evaluated by Python::

    expression := or
    or         := and (("|" | "or") and)*
    and        := unary (("&" | "and") unary)*
    unary      := ("~" | "not") unary | "(" expression ")" | comparison
    comparison := operand ("==" | "!=" | "<" | "<=" | ">" | ">=") value
    operand    := NAME ("." NAME)*  |  ("info" | "latent") "[" STRING "]" ("." NAME)?
    value      := NUMBER | "-" NUMBER | STRING | NAME | "true" | "false" | "null"

Comparisons bind tighter than ``&``, which binds tighter than ``|``, so
``galaxies.lens.mass.einstein_radius > 1.0 & unique_tag == 'lens_3'`` needs no
parentheses. An operand is a fit field (``unique_tag``, ``name``,
``path_prefix``, ``identifier``, ``parent``, ``completed``,
``max_log_likelihood``, ``log_evidence``), ``search.<setting>``,
``info.<key>`` / ``info["key"]``, ``latent.<name>``, or else a model path
(``model.`` in front is optional) ending, optionally, in ``.median`` (or
``.lower_1`` ...). A bare NAME as value is a class name
(``galaxies.lens.mass == Isothermal``), or a string where a text field is
compared; ``true``, ``false`` and ``null`` are booleans and None. Errors raise
:class:`~lenspipe.errors.QueryError` whose message points at the position.
"""

from __future__ import annotations

import re

from ..errors import QueryError
from .query import FIELDS, Condition, QueryRoot

__all__ = ["tokenize", "parse", "parse_operand", "Token"]

_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>==|!=|<=|>=|<|>|&&|\|\||[&|~()\[\].\-])
""", re.VERBOSE)
_KEYWORDS = {"and": "&", "or": "|", "not": "~"}
#: Limits that keep a hostile or runaway query from exhausting the parser or SQLite.
MAX_LENGTH = 10_000
MAX_DEPTH = 50
_COMPARISONS = ("==", "!=", "<", "<=", ">", ">=")
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)


class Token:
    """One token: ``kind`` (number, string, name, op, end), ``value``, ``position``."""

    __slots__ = ("kind", "value", "position")

    def __init__(self, kind, value, position):
        self.kind, self.value, self.position = kind, value, position

    def __repr__(self):
        return f"Token({self.kind}, {self.value!r}, {self.position})"


def _error(text: str, position: int, message: str) -> QueryError:
    error = QueryError(f"{message} at position {position}:\n  {text}\n  {' ' * position}^")
    error.position = position
    return error


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens, ending with an ``end`` token."""
    if not isinstance(text, str):
        raise QueryError(f"a query is a string, not {text!r}.")
    if len(text) > MAX_LENGTH:
        raise QueryError(f"the query is {len(text)} characters long; the limit is {MAX_LENGTH}: "
                         "split it, or select in Python with the Aggregator.")
    tokens, position = [], 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            quote = text[position] in "'\""
            raise _error(text, position, "unterminated string" if quote else
                         f"unexpected character {text[position]!r}")
        kind, value = match.lastgroup, match.group()
        if kind == "string":
            value = _ESCAPE.sub(r"\1", value[1:-1])
        elif kind == "name" and value in _KEYWORDS:
            kind, value = "op", _KEYWORDS[value]
        elif kind == "op":
            value = {"&&": "&", "||": "|"}.get(value, value)
        if kind != "space":
            tokens.append(Token(kind, value, position))
        position = match.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


class _Parser:
    def __init__(self, text):
        self.text, self.tokens, self.index = text, tokenize(text), 0
        self.root = QueryRoot()
        self.depth = 0

    @property
    def token(self) -> Token:
        return self.tokens[self.index]

    def take(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def accept(self, value) -> bool:
        if self.token.kind == "op" and self.token.value == value:
            self.index += 1
            return True
        return False

    def expect(self, value, what):
        if not self.accept(value):
            raise self.fail(f"expected {what}")

    def fail(self, message, token=None) -> QueryError:
        token = token or self.token
        found = "the end" if token.kind == "end" else repr(token.value)
        return _error(self.text, token.position, f"{message}, found {found}")

    def expression(self) -> Condition:
        condition = self.conjunction()
        while self.accept("|"):
            condition = condition | self.conjunction()
        return condition

    def conjunction(self) -> Condition:
        condition = self.unary()
        while self.accept("&"):
            condition = condition & self.unary()
        return condition

    def unary(self) -> Condition:
        if self.token.kind == "op" and self.token.value in ("~", "("):
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise self.fail(f"the query nests parentheses and negations more than {MAX_DEPTH} "
                                "levels deep; simplify it")
            try:
                if self.accept("~"):
                    return ~self.unary()
                self.accept("(")
                condition = self.expression()
                self.expect(")", "')'")
                return condition
            finally:
                self.depth -= 1
        return self.comparison()

    def comparison(self) -> Condition:
        start = self.token
        operand = self.operand()
        op = self.token
        if not (op.kind == "op" and op.value in _COMPARISONS):
            raise self.fail("expected a comparison (==, !=, <, <=, >, >=)")
        self.index += 1
        value = self.value()
        try:
            return operand._compare(op.value, value)
        except QueryError as error:
            raise _error(self.text, start.position, str(error)) from None

    def name(self, what="a name") -> str:
        if self.token.kind != "name":
            raise self.fail(f"expected {what}")
        if self.token.value.startswith("_"):
            raise self.fail(f"expected {what} (names in a query do not start with '_')")
        return self.take().value

    def operand(self):
        """A path: field, search.x, info/latent item, or model path."""
        start = self.token
        first = self.name("a field, parameter path, info[...] or latent...")
        if first in ("info", "latent"):
            if self.accept("["):
                if self.token.kind != "string":
                    raise self.fail("expected a quoted key")
                key = self.take().value
                self.expect("]", "']'")
            else:
                self.expect(".", f"'.' or '[' after {first}")
                key = self.name()
            item = self._guard(lambda: getattr(self.root, first)[key], start)
            if first == "latent" and self.accept("."):
                statistic = self.name("a statistic")
                item = self._guard(lambda: getattr(item, statistic), start)
            return item
        parts = [first]
        while self.accept("."):
            parts.append(self.name())
        if len(parts) == 1 and first in FIELDS:
            return self.root.field(first)
        if first == "search":
            node = self.root.search
            parts = parts[1:]
        else:
            node = self.root.model
            parts = parts[1:] if first == "model" else parts
        for part in parts:
            node = self._guard(lambda: getattr(node, part), start)
        return node

    def _guard(self, build, token):
        try:
            return build()
        except (QueryError, AttributeError) as error:
            raise _error(self.text, token.position, str(error)) from None

    def value(self):
        token = self.take()
        if token.kind == "op" and token.value == "-":
            if self.token.kind != "number":
                raise self.fail("expected a number after '-'")
            return -float(self.take().value)
        if token.kind == "number":
            return float(token.value)
        if token.kind == "string":
            return token.value
        if token.kind == "name":
            return {"true": True, "false": False, "null": None}.get(token.value, token.value)
        raise self.fail("expected a value (number, quoted string or class name)", token)


def parse(text: str) -> Condition:
    """Compile a query string to a :class:`~lenspipe.database.query.Condition`.

    Raises
    ------
    QueryError
        On bad input; the message shows the expression and points at the position
        (``error.position``).
    """
    parser = _Parser(text)
    if parser.token.kind == "end":
        raise parser.fail("empty query: expected a comparison")
    condition = parser.expression()
    if parser.token.kind != "end":
        raise parser.fail("expected '&', '|' or the end of the query")
    return condition


def parse_operand(text: str):
    """Parse a single operand (a column or ordering key such as
    ``galaxies.lens.mass.einstein_radius.median`` or ``info["survey"]``)."""
    parser = _Parser(text)
    operand = parser.operand()
    if parser.token.kind != "end":
        raise parser.fail("expected the end of the column name")
    return operand
