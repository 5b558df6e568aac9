"""Ingest under faults: damaged or hostile result files, two ingests at once, a damaged database.

Every bad file is skipped and named (whatever its fault) while the good ones in the same run
are loaded and the run reports failure; a result altered after it was written fails its
checksum instead of replacing the good fit's rows; a model that cannot be rebuilt never
reaches the database. Real result files, real sqlite, real processes.
"""

from __future__ import annotations

import dataclasses
import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import h5py
import pytest

from lenspipe.database import Aggregator, ingest
from lenspipe.errors import DatabaseError
from results.synthetic import make_result, write

TESTS = Path(__file__).resolve().parents[1]


@pytest.fixture
def good(tmp_path):
    """Two good result files in ``tmp_path/results``."""
    folder = tmp_path / "results"
    write(folder, make_result(unique_tag="good_1", seed=1))
    write(folder, make_result(unique_tag="good_2", seed=2, data_seed=2))
    return folder


def _flip_a_bit(path: Path, marker: bytes) -> None:
    """Flip the lowest bit of the byte after ``marker`` in the raw file (a disk or copy error)."""
    data = bytearray(path.read_bytes())
    index = data.index(marker) + len(marker)
    data[index] ^= 1
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("document, marker", [
    ("summary", b'"max_log_likelihood":'),
    ("info", b'"survey":"'),
    ("model", b'"class":"'),
])
def test_a_flipped_bit_in_a_json_document_fails_its_checksum(tmp_path, good, document, marker):
    ingest(tmp_path / "db.sqlite", [good])
    changed = make_result(unique_tag="good_1", seed=1, info={"survey": "SLACS"})
    path = write(tmp_path / "altered", changed)
    _flip_a_bit(path, marker)
    report = ingest(tmp_path / "db.sqlite", [good, path])
    assert [reason for _, reason in report.failed] == [
        reason for _, reason in report.failed if f"the {document} document fails its checksum" in reason]
    assert [p for p, _ in report.failed] == [str(path)]
    assert len(report.unchanged) == 2 and not report.replaced


def test_a_flipped_bit_in_the_dataset_fails_its_checksum(tmp_path, good):
    path = good / "good_1" / "mass_total" / "result.h5"
    with h5py.File(path, "r+") as file:
        file["dataset/noise_map"][0, 0] += 1e-12
    report = ingest(tmp_path / "db.sqlite", [good])
    assert len(report.failed) == 1 and "the dataset document fails its checksum" in report.failed[0][1]
    assert len(report.added) == 1


def _malformed(tmp_path, name, **changes):
    result = dataclasses.replace(make_result(unique_tag=name, seed=5), **changes)
    return write(tmp_path / "bad", result)


def test_every_bad_file_is_skipped_and_named_and_the_good_ones_load(tmp_path, good, capsys):
    from lenspipe.cli import main

    base = make_result(unique_tag="x", seed=5)
    deep = _rewritten(_malformed(tmp_path, "deep_info"), "info", '{"a":' * 100_000 + "1" + "}" * 100_000)
    bad = [
        _malformed(tmp_path, "summary_list", summary=[1, 2, 3]),
        _malformed(tmp_path, "huge_number", summary={**base.summary, "max_log_likelihood": 10**400}),
        deep,
        _malformed(tmp_path, "unknown_class", model=_renamed_class(base.model)),
    ]
    database = tmp_path / "db.sqlite"
    code = main(["ingest", str(good), str(tmp_path / "bad"), "--database", str(database)])
    captured = capsys.readouterr()
    assert code == 1 and "Traceback" not in captured.err
    skipped = [line for line in captured.err.splitlines() if line.startswith("lenspipe ingest: skipped ")]
    assert sorted(line.split()[3].rstrip(":") for line in skipped) == sorted(map(str, bad))
    assert any("the stored model cannot be rebuilt" in line and "NoSuchClass" in line for line in skipped)
    assert captured.out == f"{database}: 2 added, 0 replaced, 0 unchanged, 4 skipped\n"
    with Aggregator.from_database(database) as agg:
        assert sorted(agg.values("unique_tag")) == ["good_1", "good_2"]
        assert len(list(agg.values("samples"))) == 2


def _rewritten(path, document, text):
    """Replace one JSON document of a result file, with a matching checksum (a hostile writer)."""
    import json

    from lenspipe.results.checksums import text_checksum

    with h5py.File(path, "r+") as file:
        del file[document]
        file[document] = text
        sums = json.loads(file.attrs["checksums"])
        sums[document] = text_checksum(text)
        file.attrs["checksums"] = json.dumps(sums)
    return path


def _renamed_class(model: dict) -> dict:
    """The model with its mass profile's class renamed to one that does not exist."""
    import json

    text = json.dumps(model).replace("LpTestIsothermal", "NoSuchClass")
    return json.loads(text)


# ------------------------------------------------------------------- two ingests at once
_INGEST = "import sys, results.synthetic; from lenspipe.database import ingest; " \
          "r = ingest(sys.argv[1], [sys.argv[2]]); print(r.summary())"


def test_two_ingests_at_once_both_succeed(tmp_path):
    folders = []
    for k in range(2):
        folder = tmp_path / f"results_{k}"
        for i in range(8):
            write(folder, make_result(unique_tag=f"lens_{k}_{i}", seed=10 * k + i, n=3000))
        folders.append(folder)
    database = tmp_path / "db.sqlite"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]))
    children = [subprocess.Popen([sys.executable, "-c", _INGEST, str(database), str(folder)],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
                for folder in folders]
    outputs = [child.communicate(timeout=300) for child in children]
    assert [child.returncode for child in children] == [0, 0], outputs
    assert [out for out, _ in outputs] == ["8 added, 0 replaced, 0 unchanged, 0 skipped\n"] * 2
    with Aggregator.from_database(database) as agg:
        assert len(agg) == 16


def _hold_write_lock(database):
    connection = sqlite3.connect(database, isolation_level=None)
    connection.execute("BEGIN IMMEDIATE")
    connection.execute('UPDATE "fit" SET "ingested" = "ingested"')
    return connection


def test_an_ingest_waits_for_another_writer_to_finish(tmp_path, good):
    database = tmp_path / "db.sqlite"
    ingest(database, [good])
    write(good, make_result(unique_tag="good_3", seed=3, data_seed=3))
    holder = _hold_write_lock(database)
    outcome = {}
    waiting = threading.Thread(target=lambda: outcome.update(report=ingest(database, [good])))
    waiting.start()
    time.sleep(1.0)  # let the ingest start and wait on the lock (not asserted)
    holder.execute("COMMIT")
    holder.close()
    waiting.join(timeout=120)
    assert outcome["report"].added and len(outcome["report"].unchanged) == 2


def test_an_ingest_that_cannot_get_the_lock_says_so_plainly(tmp_path, good):
    database = tmp_path / "db.sqlite"
    ingest(database, [good])
    holder = _hold_write_lock(database)
    try:
        with pytest.raises(DatabaseError, match=r"another process \(another `lenspipe ingest`\?\) held "
                                                r"the database's write lock for 0.2 s"):
            ingest(database, [good], busy_timeout=0.2)
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_a_damaged_database_is_a_named_error_and_left_as_it_was(tmp_path, good, capsys):
    from lenspipe.cli import main

    database = tmp_path / "db.sqlite"
    ingest(database, [good])
    data = bytearray(database.read_bytes())
    page = 4096
    for offset in range(2 * page, len(data) - page, page):  # every page but the first and last
        data[offset:offset + 64] = b"\xff" * 64
    database.write_bytes(bytes(data))
    write(good, make_result(unique_tag="good_3", seed=3, data_seed=3))
    code = main(["ingest", str(good), "--database", str(database)])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert err.startswith(f"lenspipe ingest: error: {database}: ")
    assert database.read_bytes() == bytes(data)
