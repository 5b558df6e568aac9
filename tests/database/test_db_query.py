"""Every query operator against a brute-force Python filter over the same results.

Random expression trees (hypothesis) are run three ways: the Python API, the
query language (parsed), and a plain Python filter over the result objects.
"""

from __future__ import annotations

import operator
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lenspipe.database import Aggregator, ingest
from results.synthetic import make_result, write

OPS = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
       ">": operator.gt, ">=": operator.ge}
RADIUS = "galaxies.lens.mass.einstein_radius"
TAGS = ["lens_0", "lens_1", "lens_2", "lens_10", "Lens_0", "lens_ü"]
SURVEYS = ["SLACS", "BELLS", "SL2S"]
CLASSES = ["LpTestIsothermal", "LpTestPowerLaw"]


def _build(folder: Path, radii, seed=0):
    rng = np.random.default_rng(seed)
    results = []
    for i, radius in enumerate(radii):
        info = {"survey": SURVEYS[i % 3]}
        if i % 4:
            info["z"] = float(rng.choice([0.1, 0.2, 0.3]))
        result = make_result(unique_tag=TAGS[i % len(TAGS)], name=f"stage_{i}", n=40,
                             einstein_radius=float(radius), mass=CLASSES[int(rng.integers(2))],
                             seed=i + 1000 * seed, info=info, completed=bool(i % 5))
        write(folder, result)
        results.append(result)
    database = folder / "db.sqlite"
    assert ingest(database, [folder]).ok
    return database, results


@pytest.fixture(scope="module")
def populated(tmp_path_factory):
    folder = tmp_path_factory.mktemp("query")
    rng = np.random.default_rng(7)
    radii = np.round(rng.uniform(0.5, 2.0, size=30), 1)  # rounded: ties and equalities
    database, results = _build(folder, radii)
    agg = Aggregator.from_database(database)
    yield agg, results
    agg.close()


def _quote(text):
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


# -- leaves: (python-api builder, query text, brute-force predicate) -----------------------
def _param_leaf(statistic, op, value):
    key = "max_log_likelihood_instance" if statistic == "max_likelihood" else "median_pdf_instance"

    def api(agg):
        path = agg.model.galaxies.lens.mass.einstein_radius
        return OPS[op](path.median if statistic == "median" else path, value)

    suffix = ".median" if statistic == "median" else ""
    return api, f"{RADIUS}{suffix} {op} {value!r}", lambda r: OPS[op](r.summary[key][RADIUS], value)


def _class_leaf(op, name):
    def predicate(r):
        return OPS[op](r.model["children"]["galaxies"]["children"]["lens"]["parameters"]["mass"]
                       ["class"], name)
    return (lambda agg: OPS[op](agg.model.galaxies.lens.mass, name),
            f"galaxies.lens.mass {op} {name}", predicate)


def _tag_leaf(op, tag):
    return (lambda agg: OPS[op](agg.unique_tag, tag), f"unique_tag {op} {_quote(tag)}",
            lambda r: OPS[op](r.unique_tag, tag))


def _info_leaf(key, op, value):
    def predicate(r):
        stored = r.info.get(key)
        if stored is None or isinstance(stored, str) != isinstance(value, str):
            return False
        return OPS[op](stored, value)
    text = _quote(value) if isinstance(value, str) else repr(value)
    return (lambda agg: OPS[op](agg.info[key], value), f'info["{key}"] {op} {text}', predicate)


def _latent_leaf(op, value):
    return (lambda agg: OPS[op](agg.latent.einstein_mass, value),
            f"latent.einstein_mass {op} {value!r}",
            lambda r: OPS[op](r.summary["latent"]["einstein_mass"]["median"], value))


ops = st.sampled_from(list(OPS))
radius_values = st.one_of(st.sampled_from([0.5, 0.9, 1.0, 1.2, 1.5, 2.0]),
                          st.floats(0.0, 2.5, allow_nan=False))
leaves = st.one_of(
    st.builds(_param_leaf, st.sampled_from(["max_likelihood", "median"]), ops, radius_values),
    st.builds(_class_leaf, st.sampled_from(["==", "!="]), st.sampled_from(CLASSES + ["Other"])),
    st.builds(_tag_leaf, ops, st.sampled_from(TAGS + ["lens_5", ""])),
    st.builds(_info_leaf, st.just("survey"), ops, st.sampled_from(SURVEYS + ["KIDS", 1.0])),
    st.builds(_info_leaf, st.just("z"), ops, st.sampled_from([0.1, 0.2, 0.25, "0.1"])),
    st.builds(_latent_leaf, ops, st.floats(0.0, 4e11, allow_nan=False)),
)


def _combine(children):
    def both(a, b, word):
        symbol, fn = {"and": ("&", lambda x, y: x and y), "or": ("|", lambda x, y: x or y)}[word]
        return ((lambda agg: a[0](agg) & b[0](agg)) if word == "and" else
                (lambda agg: a[0](agg) | b[0](agg)),
                f"({a[1]} {symbol} {b[1]})", lambda r: fn(a[2](r), b[2](r)))

    def negate(a):
        return (lambda agg: ~a[0](agg), f"~({a[1]})", lambda r: not a[2](r))

    return st.one_of(st.builds(both, children, children, st.sampled_from(["and", "or"])),
                     st.builds(negate, children))


expressions = st.recursive(leaves, _combine, max_leaves=5)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(expression=expressions)
def test_api_and_language_match_brute_force(populated, expression):
    agg, results = populated
    api, text, predicate = expression
    expected = sorted(r.identifier for r in results if r.completed and predicate(r))
    assert sorted(r.identifier for r in agg.query(api(agg))) == expected, text
    assert sorted(r.identifier for r in agg.query(text)) == expected, text
    assert len(agg.query(text)) == len(expected)


@settings(max_examples=15, deadline=None)
@given(radii=st.lists(st.floats(-1e6, 1e6, allow_nan=False, allow_subnormal=False), min_size=1,
                      max_size=5),
       op=ops, pick=st.integers(0, 4), shift=st.sampled_from([0.0, 1e-9, -1e-9, 1.0]))
def test_generated_values_compare_exactly(radii, op, pick, shift):
    with tempfile.TemporaryDirectory() as folder:
        database, results = _build(Path(folder), radii, seed=1)
        threshold = float(radii[pick % len(radii)]) + shift
        with Aggregator.from_database(database, completed_only=False) as agg:
            path = agg.model.galaxies.lens.mass.einstein_radius
            found = sorted(agg.query(OPS[op](path, threshold)).values("identifier"))
            text = sorted(agg.query(f"{RADIUS} {op} {threshold!r}").values("identifier"))
    expected = sorted(r.identifier for r in results if OPS[op](
        r.summary["max_log_likelihood_instance"][RADIUS], threshold))
    assert found == expected == text


def test_numpy_scalars_and_reflected_comparisons(populated):
    agg, results = populated
    path = agg.model.galaxies.lens.mass.einstein_radius
    a = {r.identifier for r in agg.query(path > np.float64(1.0))}
    b = {r.identifier for r in agg.query(np.float64(1.0) < path)}
    c = {r.identifier for r in agg.query(1.0 < path)}
    assert a == b == c and a
