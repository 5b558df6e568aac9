"""The query language (tokeniser + recursive descent) and the `lenspipe query` command."""

from __future__ import annotations

import csv
import io
import json

import pytest

from lenspipe.cli import main
from lenspipe.database.commands import split_columns
from lenspipe.database.grammar import parse, parse_operand, tokenize
from lenspipe.database.query import QueryRoot
from lenspipe.errors import QueryError

ROOT = QueryRoot()
RADIUS = ROOT.model.galaxies.lens.mass.einstein_radius


@pytest.mark.parametrize("text, expected", [
    ("galaxies.lens.mass.einstein_radius > 1.0", RADIUS > 1.0),
    ("model.galaxies.lens.mass.einstein_radius >= 1", RADIUS >= 1.0),
    ("galaxies.lens.mass.einstein_radius.median < -2.5e-1", RADIUS.median < -0.25),
    ("galaxies.lens.mass == Isothermal", ROOT.model.galaxies.lens.mass == "Isothermal"),
    ("galaxies.lens.mass != 'PowerLaw'", ROOT.model.galaxies.lens.mass != "PowerLaw"),
    ("unique_tag == 'lens_3'", ROOT.unique_tag == "lens_3"),
    ('unique_tag == "it\'s \\"quoted\\""', ROOT.unique_tag == 'it\'s "quoted"'),
    ('info["survey"] == "SLACS"', ROOT.info["survey"] == "SLACS"),
    ("info.survey == 'SLACS'", ROOT.info["survey"] == "SLACS"),
    ("info['a key'] <= 3", ROOT.info["a key"] <= 3.0),
    ("latent.einstein_mass > 1e11", ROOT.latent.einstein_mass > 1e11),
    ("latent['einstein_mass'].upper_3 > 1", ROOT.latent.einstein_mass.upper_3 > 1.0),
    ("search.name == 'mass_total'", ROOT.name == "mass_total"),
    ("search.nwalkers == 20", ROOT.search.nwalkers == 20.0),
    ("completed == true", ROOT.completed == True),  # noqa: E712 - builds SQL
    ("log_evidence == null", ROOT.log_evidence == None),  # noqa: E711 - builds SQL
    ("galaxies.lens.mass.einstein_radius > 1.0 & unique_tag == 'lens_3'",
     (RADIUS > 1.0) & (ROOT.unique_tag == "lens_3")),
    ("a.b > 1 | a.b < 0 & name == 'x'",
     (ROOT.model.a.b > 1.0) | ((ROOT.model.a.b < 0.0) & (ROOT.name == "x"))),
    ("(a.b > 1 | a.b < 0) & name == 'x'",
     ((ROOT.model.a.b > 1.0) | (ROOT.model.a.b < 0.0)) & (ROOT.name == "x")),
    ("~a.b > 1 & ~(name == 'x')", (~(ROOT.model.a.b > 1.0)) & ~(ROOT.name == "x")),
    ("not a.b > 1 and name == 'x' or name == 'y'",
     ((~(ROOT.model.a.b > 1.0)) & (ROOT.name == "x")) | (ROOT.name == "y")),
    ("  a.b>=.5&&name=='x'  ", (ROOT.model.a.b >= 0.5) & (ROOT.name == "x")),
])
def test_good_expressions_compile_like_the_python_api(text, expected):
    condition = parse(text)
    assert (condition.sql, condition.params) == (expected.sql, expected.params)


@pytest.mark.parametrize("text, position", [
    ("", 0),
    ("galaxies.lens.mass.einstein_radius >", 36),
    ("galaxies.lens.mass.einstein_radius 1.0", 35),
    ("unique_tag == 'lens_3", 14),
    ("a.b > 1 &", 9),
    ("(a.b > 1", 8),
    ("a.b > 1)", 7),
    ("a.b = 1", 4),
    ("a.b > 1 $ c.d < 2", 8),
    ("a..b > 1", 2),
    ("info[survey] == 'x'", 5),
    ("a.b < Isothermal", 0),
    ("unique_tag > 3", 0),
    ("a.b.median.c > 1", 0),
    ("latent.x.foo > 1", 0),
    ("a.b > -'x'", 7),
    ("a.b > 1 c.d < 2", 8),
])
def test_bad_expressions_raise_query_error_with_position(text, position):
    with pytest.raises(QueryError) as info:
        parse(text)
    assert info.value.position == position
    assert "position" in str(info.value)


def test_values_never_enter_the_sql():
    condition = parse("unique_tag == '; DROP TABLE fit; --' | info['x\"y'] == 'a\\'b'")
    assert "DROP" not in condition.sql and "a'" not in condition.sql
    assert condition.params == ("; DROP TABLE fit; --", 'x"y', "a'b")


def test_tokens_and_operands():
    kinds = [(t.kind, t.value) for t in tokenize("a.b>=1e3 & 'x'")]
    assert kinds == [("name", "a"), ("op", "."), ("name", "b"), ("op", ">="), ("number", "1e3"),
                     ("op", "&"), ("string", "x"), ("end", "")]
    assert parse_operand("galaxies.lens.mass.einstein_radius.median")._order_sql() == \
        RADIUS.median._order_sql()
    assert split_columns('unique_tag, info["a,b"], x.y') == ["unique_tag", 'info["a,b"]', "x.y"]


def test_cli_query_formats(standard, capsys):
    database, _, results = standard
    expression = "galaxies.lens.mass.einstein_radius > 1.0 & search.name == 'mass_total'"
    columns = "unique_tag,galaxies.lens.mass.einstein_radius,galaxies.lens.mass.einstein_radius.median,info.survey"
    expected = [r for r in results if r.completed and r.name == "mass_total" and
                r.summary["max_log_likelihood_instance"]["galaxies.lens.mass.einstein_radius"] > 1.0]
    assert main(["query", str(database), expression, "--columns", columns, "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [row["unique_tag"] for row in rows] == [r.unique_tag for r in expected]
    assert rows[0]["info.survey"] == expected[0].info["survey"]
    assert main(["query", str(database), expression, "--columns", columns, "--format", "csv"]) == 0
    table = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert table[0] == columns.split(",") and len(table) == 1 + len(expected)
    assert main(["query", str(database), "--all", "--order-by", "galaxies.lens.mass.einstein_radius",
                 "--descending", "--limit", "2"]) == 0
    out = capsys.readouterr().out
    assert "(2 fits)" in out and "identifier" in out.splitlines()[0]


def test_cli_query_bad_expression_exits_2(standard, capsys):
    database = standard[0]
    assert main(["query", str(database), "galaxies.lens.mass.einstein_radius >"]) == 2
    err = capsys.readouterr().err
    assert "lenspipe query: error:" in err and "position 36" in err
    assert main(["query", str(database / "nope")]) == 2
