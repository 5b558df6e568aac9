"""The Aggregator: values, records, ordering, slicing, literal strings, streaming."""

from __future__ import annotations

import sqlite3
import tracemalloc

import numpy as np
import pytest

from lenspipe.database import Aggregator, FitRecord, ingest
from lenspipe.errors import DatabaseError, QueryError
from lenspipe.search.samples import Samples
from results.synthetic import LpTestIsothermal, LpTestPowerLaw, make_result, real_result, write


def _same_bits(a, b):
    return a.shape == b.shape and np.array_equal(np.asarray(a).view(np.uint64),
                                                 np.asarray(b).view(np.uint64))


def test_samples_round_trip_bit_for_bit(standard):
    database, _, results = standard
    by_id = {r.identifier: r for r in results}
    agg = Aggregator.from_database(database, completed_only=False)
    records, samples_list = list(agg), list(agg.values("samples"))
    assert len(samples_list) == len(results)
    for record, samples in zip(records, samples_list):
        result = by_id[record.identifier]
        assert isinstance(samples, Samples)
        for name in ("parameters", "log_likelihood", "log_prior", "weight"):
            assert _same_bits(getattr(samples, name), getattr(result, name)), name
        assert samples.parameter_paths == result.parameter_paths
        instance = samples.max_log_likelihood_instance
        assert isinstance(instance.galaxies.lens.mass, (LpTestIsothermal, LpTestPowerLaw))
        assert instance.galaxies.lens.mass.einstein_radius == \
            result.summary["max_log_likelihood_instance"]["galaxies.lens.mass.einstein_radius"]


def test_values_of_every_kind(standard):
    database, _, results = standard
    agg = Aggregator.from_database(database)
    completed = [r for r in results if r.completed]
    assert len(agg) == len(completed) == 5
    assert list(agg.values("unique_tag")) == [r.unique_tag for r in completed]
    assert list(agg.values("name")) == [r.name for r in completed]
    assert list(agg.values("info")) == [r.info for r in completed]
    assert list(agg.values("search")) == [r.search for r in completed]
    assert list(agg.values("latent")) == [r.summary["latent"] for r in completed]
    assert list(agg.values("parent")) == [r.parent_identifier or None for r in completed]
    assert all(value is True for value in agg.values("completed"))
    models = list(agg.values("model"))
    assert [m.paths for m in models] == [r.parameter_paths for r in completed]
    instance = next(agg.values("instance"))
    assert instance.galaxies.lens.mass.einstein_radius == pytest.approx(0.8)
    dataset = next(agg.values("dataset"))
    assert np.array_equal(dataset.data, completed[0].dataset.data)
    assert np.array_equal(dataset.mask, completed[0].dataset.mask) and dataset.mask.dtype == bool
    with pytest.raises(QueryError, match="unknown value"):
        agg.values("nonsense")


def test_records_len_slicing_and_ordering(standard):
    database, _, results = standard
    agg = Aggregator.from_database(database, completed_only=False)
    records = list(agg)
    assert all(isinstance(r, FitRecord) for r in records)
    assert [r.identifier for r in records] == [r.identifier for r in results]
    assert records[1].parent == results[0].identifier and records[0].parent is None
    assert [r.identifier for r in agg[1:4]] == [r.identifier for r in records[1:4]]
    assert [r.identifier for r in agg[2:][1:3]] == [r.identifier for r in records[3:5]]
    assert agg[-1] == records[-1] and agg[0] == records[0]
    assert len(agg[4:]) == 2 and len(agg[10:]) == 0
    with pytest.raises(IndexError):
        agg[6]
    radius = agg.model.galaxies.lens.mass.einstein_radius
    ordered = list(agg.order_by(radius).values("identifier"))
    key = "galaxies.lens.mass.einstein_radius"
    by_radius = sorted(results, key=lambda r: r.summary["max_log_likelihood_instance"][key])
    assert ordered == [r.identifier for r in by_radius]
    descending = list(agg.order_by(radius.median, descending=True).values("identifier"))
    assert descending == [r.identifier for r in sorted(
        results, key=lambda r: -r.summary["median_pdf_instance"][key])]
    assert list(agg.order_by("unique_tag", "name").values("name"))[:2] == ["light_lp", "mass_total"]
    top_two = agg.order_by(radius, descending=True)[:2]
    assert len(top_two.query(agg.name == "mass_total")) == 1  # the query applies within the slice


def test_queries_on_fields_search_and_classes(standard):
    database, _, results = standard
    agg = Aggregator.from_database(database, completed_only=False)
    assert len(agg.query(agg.search.name == "mass_total")) == 3
    assert len(agg.query(agg.search.nwalkers == 20)) == 6
    assert len(agg.query(agg.search.diagnostics.steps > 50)) == 6
    assert len(agg.query(agg.model.galaxies.lens.mass == LpTestPowerLaw)) == 1
    assert len(agg.query(agg.model.galaxies.lens.mass == "LpTestIsothermal")) == 5
    assert len(agg.query(agg.model.galaxies.lens.mass != LpTestIsothermal)) == 1
    with pytest.raises(QueryError, match="no fit in this database has the component path "
                                         "'galaxies.source.mass'; the nearest are 'galaxies.lens.mass'"):
        agg.query(agg.model.galaxies.source.mass == LpTestIsothermal)  # a path no fit has: named
    assert len(agg.query(agg.info["survey"] == "BELLS")) == 1
    assert len(agg.query(agg.info.index >= 1)) == 4
    assert len(agg.query(agg.parent == results[0].identifier)) == 1
    assert len(agg.query(agg.log_evidence == None)) == 6  # noqa: E711 - builds IS NULL
    assert len(agg.query(~(agg.log_evidence > 0))) == 6  # two-valued: NOT works on NULL columns
    completed = Aggregator.from_database(database)
    assert len(completed.query(agg.unique_tag == "lens_0")) == 1


@pytest.mark.parametrize("bad", [
    lambda agg: (agg.unique_tag == "a") and (agg.name == "b"),
    lambda agg: agg.model.galaxies.lens.mass < LpTestIsothermal,
    lambda agg: agg.model.galaxies.lens.mass.einstein_radius == [1],
    lambda agg: agg.model.galaxies.lens.mass.einstein_radius > float("nan"),
    lambda agg: agg.unique_tag > 3,
    lambda agg: agg.completed == "yes",
    lambda agg: agg.query(3),
    lambda agg: agg.model == 1.0,
    lambda agg: getattr(agg.model.galaxies, "9bad") == 1.0,
    lambda agg: agg.model.galaxies.lens.mass.einstein_radius.median.x == 1.0,
    lambda agg: agg.order_by(3),
    lambda agg: agg[::2],
])
def test_misuse_raises_query_error(standard, bad):
    agg = Aggregator.from_database(standard[0])
    with pytest.raises(QueryError):
        bad(agg)


HOSTILE = ["'; DROP TABLE fit; --", 'quote " and \' both', "Ünïcødé λ ☃ 漢字", "back\\slash",
           "100%_like", ""]


def test_hostile_strings_are_stored_and_matched_literally(tmp_path):
    folder = tmp_path / "r"
    results = []
    for i, text in enumerate(HOSTILE):
        result = make_result(unique_tag=text or "empty", seed=i, path_prefix=text,
                             info={"survey": text, text or "k": "value"})
        write(folder / str(i), result)
        results.append(result)
    database = tmp_path / "db.sqlite"
    assert ingest(database, [folder]).ok
    agg = Aggregator.from_database(database)
    for result, text in zip(results, HOSTILE):
        tag = result.unique_tag
        quoted = "'" + tag.replace("\\", "\\\\").replace("'", "\\'") + "'"
        for condition in (agg.unique_tag == tag, f"unique_tag == {quoted}"):
            assert [r.identifier for r in agg.query(condition)] == [result.identifier]
        assert [r.identifier for r in agg.query(agg.info["survey"] == text)] == [result.identifier]
        assert [r.identifier for r in agg.query(agg.path_prefix == text)] == [result.identifier]
        assert list(agg.query(agg.info[text or "k"] == "value").values("info")) == [result.info]
    assert len(agg.query(agg.unique_tag == "%")) == 0  # no LIKE wildcards
    with sqlite3.connect(database) as connection:
        assert connection.execute('SELECT COUNT(*) FROM "fit"').fetchone()[0] == len(HOSTILE)
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_values_stream_with_flat_memory(tmp_path):
    folder = tmp_path / "r"
    for i in range(24):
        write(folder, make_result(unique_tag=f"lens_{i:02d}", seed=i, n=20000))
    database = tmp_path / "db.sqlite"
    assert ingest(database, [folder]).ok
    one_result = 20000 * 6 * 8  # decoded bytes of one fit's arrays
    agg = Aggregator.from_database(database)
    next(agg.values("samples"))  # warm caches (imports, the model)
    tracemalloc.start()
    count = 0
    for samples in agg.values("samples"):
        count += len(samples)
        del samples
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert count == 24 * 20000
    assert peak < 4 * one_result, peak  # 24 results would need ~24x one result


def test_corrupt_blob_in_database_is_a_named_error(standard):
    database, _, _ = standard
    with sqlite3.connect(database) as connection:
        connection.execute('UPDATE "samples" SET "parameters" = ? WHERE "fit_id" = 1', [b"junk"])
    agg = Aggregator.from_database(database, completed_only=False)
    with pytest.raises(DatabaseError, match="corrupt"):
        next(agg.values("samples"))


def test_values_fit_rebuilds_the_maximum_likelihood_fit(tmp_path):
    result = real_result()
    write(tmp_path / "r", result)
    assert ingest(tmp_path / "db.sqlite", [tmp_path / "r"]).ok
    agg = Aggregator.from_database(tmp_path / "db.sqlite")
    fits = list(agg.values("fit"))
    assert len(fits) == 1 and fits[0].log_likelihood == result.fit.log_likelihood
