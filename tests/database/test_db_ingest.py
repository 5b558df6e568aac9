"""Ingest: schema, idempotence, replacement, corrupt files, killed ingests, WAL readers."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import sqlite_utils

from lenspipe.cli import main
from lenspipe.database import SCHEMA_VERSION, Aggregator, ingest, open_database, open_readonly
from lenspipe.errors import DatabaseError
from results.synthetic import make_result, write

TESTS = Path(__file__).resolve().parents[1]


def dump(path) -> list[str]:
    with sqlite3.connect(path) as connection:
        return list(connection.iterdump())


def test_schema_tables_indexes_and_views(standard):
    database, _, results = standard
    db = sqlite_utils.Database(database)
    assert {"fit", "model_component", "parameter", "latent", "info", "samples", "dataset",
            "schema_version"} <= set(db.table_names())
    assert {"parameter_summary", "latent_summary", "fit_summary"} <= set(db.view_names())
    assert db.execute('SELECT MAX("version") FROM "schema_version"').fetchone()[0] == SCHEMA_VERSION
    indexes = {row[1] for row in db.execute("SELECT * FROM sqlite_master WHERE type = 'index'")}
    assert {"parameter_path_max_likelihood", "parameter_path_median",
            "model_component_path_class", "info_key_value", "fit_unique_tag"} <= indexes
    assert db.execute('SELECT COUNT(*) FROM "dataset"').fetchone()[0] == 3  # shared per lens
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    rows = list(db.query('SELECT "class" FROM "model_component" WHERE "path" = ?',
                         ["galaxies.lens.mass"]))
    assert sorted(row["class"] for row in rows) == ["LpTestIsothermal"] * 5 + ["LpTestPowerLaw"]


def test_values_are_typed_not_blobs(standard):
    database, _, results = standard
    with sqlite3.connect(database) as connection:
        for table, column, kind in [("parameter", "max_likelihood", "real"),
                                    ("parameter", "median", "real"), ("latent", "median", "real"),
                                    ("fit", "seed", "integer"), ("fit", "completed", "integer"),
                                    ("fit", "max_log_likelihood", "real")]:
            kinds = {row[0] for row in connection.execute(
                f'SELECT DISTINCT typeof("{column}") FROM "{table}"')}
            assert kinds == {kind}, (table, column, kinds)


def test_flat_views_read_without_lenspipe(standard):
    database, _, results = standard
    by_id = {r.identifier: r for r in results}
    with sqlite3.connect(database) as connection:
        connection.row_factory = sqlite3.Row
        rows = connection.execute('SELECT * FROM "fit_summary"').fetchall()
        assert len(rows) == len(results)
        for row in rows:
            result = by_id[row["identifier"]]
            path = "galaxies.lens.mass.einstein_radius"
            median = result.summary["median_pdf_instance"][path]
            assert row[f"{path}.median"] == median
            assert row[f"{path}.max_likelihood"] == result.summary["max_log_likelihood_instance"][path]
            assert row[f"{path}.error_lower_1"] == pytest.approx(
                median - result.summary["errors"][path]["lower_1"])
            assert row["latent.einstein_mass.median"] == pytest.approx(
                result.summary["latent"]["einstein_mass"]["median"])
        long = connection.execute('SELECT * FROM "parameter_summary"').fetchall()
        # every free parameter, and each fixed number of the model (here the lens redshift)
        assert len(long) == sum(len(r.parameter_paths) + 1 for r in results)
        fixed = connection.execute('SELECT * FROM "parameter" WHERE "path" = ?',
                                   ["galaxies.lens.redshift"]).fetchall()
        assert [(row["median"], row["lower_3"], row["upper_3"]) for row in fixed] == [(0.5, 0.5, 0.5)] * 6
        blob = connection.execute('SELECT "data" FROM "dataset" LIMIT 1').fetchone()[0]
        import io
        assert np.load(io.BytesIO(blob)).shape == (9, 9)  # plain .npy


def test_ingest_twice_changes_nothing(standard):
    database, folder, _ = standard
    before = dump(database)
    report = ingest(database, [folder])
    assert report.ok and not report.added and not report.replaced and len(report.unchanged) == 6
    assert dump(database) == before


def test_changed_result_replaces_its_rows(standard):
    database, folder, results = standard
    old = results[0]
    new = make_result(unique_tag=old.unique_tag, name=old.name, einstein_radius=2.5, seed=99,
                      data_seed=0, info={"survey": "SLACS", "index": 0, "rerun": True})
    assert new.identifier == old.identifier
    write(folder, new)
    with sqlite3.connect(database) as connection:
        old_id = connection.execute('SELECT "id" FROM "fit" WHERE "identifier" = ?',
                                    [old.identifier]).fetchone()[0]
    report = ingest(database, [folder])
    assert report.replaced == [old.identifier] and len(report.unchanged) == 5
    with sqlite3.connect(database) as connection:
        assert connection.execute('SELECT COUNT(*) FROM "fit"').fetchone()[0] == 6
        rows = connection.execute('SELECT "fit_id", "max_likelihood" FROM "parameter" WHERE '
                                  '"path" = ?', ["galaxies.lens.mass.einstein_radius"]).fetchall()
        assert (old_id, 2.5) in rows and len(rows) == 6
        assert connection.execute('SELECT COUNT(*) FROM "info" WHERE "fit_id" = ?',
                                  [old_id]).fetchone()[0] == 3
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    agg = Aggregator.from_database(database)
    samples = next(agg.query(agg.identifier == old.identifier).values("samples"))
    assert np.array_equal(samples.parameters, new.parameters)


def test_corrupt_file_is_skipped_named_and_exit_code_nonzero(tmp_path, capsys):
    folder = tmp_path / "results"
    good = [make_result(unique_tag=f"lens_{i}", seed=i) for i in range(3)]
    paths = [write(folder, result) for result in good]
    data = paths[1].read_bytes()
    paths[1].write_bytes(data[: len(data) // 3])  # truncated
    (folder / "junk" / "x").mkdir(parents=True)
    (folder / "junk" / "x" / "result.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 100)
    database = tmp_path / "db.sqlite"
    code = main(["ingest", str(folder), "--database", str(database)])
    captured = capsys.readouterr()
    assert code == 1
    assert str(paths[1]) in captured.err and "junk" in captured.err
    assert "2 added" in captured.out and "2 skipped" in captured.out
    agg = Aggregator.from_database(database)
    assert sorted(agg.values("unique_tag")) == ["lens_0", "lens_2"]


def test_cli_ingest_success_exit_code_zero(tmp_path, capsys):
    write(tmp_path / "r", make_result())
    assert main(["ingest", str(tmp_path / "r"), "--database", str(tmp_path / "d.sqlite")]) == 0
    assert "1 added" in capsys.readouterr().out


def test_reader_works_during_an_ingest(standard, tmp_path):
    database, folder, results = standard
    for i in range(4):
        write(folder, make_result(unique_tag=f"new_{i}", seed=50 + i))
    seen = []

    def progress(done, total, path, outcome):
        if outcome == "added" and not seen:
            agg = Aggregator.from_database(database, completed_only=False)
            seen.append((len(agg), sorted(agg.values("unique_tag"))))
            agg.close()

    report = ingest(database, [folder], progress=progress)
    assert len(report.added) == 4
    assert seen[0][0] == len(results)  # the reader sees the committed state, not blocked
    assert len(Aggregator.from_database(database, completed_only=False)) == len(results) + 4


_KILL_SCRIPT = textwrap.dedent("""
    import sys, time
    import results.synthetic  # registers the stand-in classes, so the stored models rebuild
    from lenspipe.database import ingest, schema
    schema.CACHE_KIB = 256  # a small page cache: the transaction spills pages to the WAL
    def progress(done, total, path, outcome):
        if done == int(sys.argv[3]):
            print("midway", flush=True)
            time.sleep(120)
    ingest(sys.argv[1], [sys.argv[2]], progress=progress)
""")


def test_killed_ingest_leaves_previous_content(standard, tmp_path):
    database, folder, _ = standard
    before = dump(database)
    for i in range(30):
        write(folder, make_result(unique_tag=f"bulk_{i:02d}", seed=100 + i, n=6000))
    wal = Path(str(database) + "-wal")
    wal_before = wal.stat().st_size if wal.exists() else 0
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]))
    child = subprocess.Popen([sys.executable, "-c", _KILL_SCRIPT, str(database), str(folder), "28"],
                             stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert child.stdout.readline().strip() == "midway"
        assert wal.stat().st_size > wal_before  # the transaction had written pages
        child.send_signal(signal.SIGKILL)
    finally:
        child.kill()
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    with sqlite3.connect(database) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert dump(database) == before
    report = ingest(database, [folder])  # and the next ingest completes
    assert len(report.added) == 30 and len(report.unchanged) == 6


def test_database_errors(tmp_path):
    with pytest.raises(DatabaseError, match="no such database"):
        Aggregator.from_database(tmp_path / "absent.sqlite")
    other = tmp_path / "other.sqlite"
    sqlite_utils.Database(other)["things"].insert({"a": 1})
    with pytest.raises(DatabaseError, match="not a lenspipe"):
        open_database(other)
    with pytest.raises(DatabaseError):
        open_readonly(other)
    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(DatabaseError):
        open_database(garbage)
    newer = tmp_path / "newer.sqlite"
    db = open_database(newer)
    db.execute('INSERT INTO "schema_version" VALUES (?, ?, ?)', [SCHEMA_VERSION + 1, "future", "x"])
    db.close()
    with pytest.raises(DatabaseError, match="newer"):
        open_database(newer)
    with pytest.raises(DatabaseError, match="newer"):
        Aggregator.from_database(newer)


def test_migrations_apply_once(tmp_path):
    path = tmp_path / "db.sqlite"
    open_database(path).close()
    open_database(path).close()
    with sqlite3.connect(path) as connection:
        rows = connection.execute('SELECT "version", "description" FROM "schema_version"').fetchall()
    assert rows == [(1, "initial schema"), (2, "adapt images and pixelized-source reconstructions"),
                    (3, "held source meshes' references")]
    assert json.loads(json.dumps(rows))  # plain values


def test_a_version_1_database_is_migrated_keeping_its_fits(standard, tmp_path):
    """A database made before adapt images and reconstructions were stored gains their tables on
    its next opening for writing, and keeps the fits it held."""
    _, folder, _ = standard
    path = tmp_path / "old.sqlite"
    assert ingest(path, [folder], jobs=1).ok
    with sqlite3.connect(path) as connection:  # back to version 1: what an older lenspipe made
        connection.execute('DROP TABLE "adapt_image"')
        connection.execute('DROP TABLE "reconstruction"')
        connection.execute('DROP TABLE "mesh_reference"')
        connection.execute('DELETE FROM "schema_version" WHERE "version" >= 2')
        before = connection.execute('SELECT COUNT(*) FROM "fit"').fetchone()[0]
    open_database(path).close()
    with sqlite3.connect(path) as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
        assert {"reconstruction", "adapt_image", "mesh_reference"} <= tables
        assert connection.execute('SELECT COUNT(*) FROM "fit"').fetchone()[0] == before == 6
        assert connection.execute('SELECT MAX("version") FROM "schema_version"').fetchone()[0] == 3


def test_parallel_readers_give_the_same_database(standard, tmp_path):
    database, folder, _ = standard
    other = tmp_path / "parallel.sqlite"
    report = ingest(other, [folder], jobs=1)
    assert report.ok and len(report.added) == 6
    query = ('SELECT "fit"."identifier", "fit"."content_hash", "parameter"."path", '
             '"parameter"."median", "samples"."parameters" FROM "fit" JOIN "parameter" ON '
             '"parameter"."fit_id" = "fit"."id" JOIN "samples" ON "samples"."fit_id" = "fit"."id" '
             'ORDER BY "fit"."id", "parameter"."path"')
    with sqlite3.connect(database) as a, sqlite3.connect(other) as b:
        assert a.execute(query).fetchall() == b.execute(query).fetchall()
