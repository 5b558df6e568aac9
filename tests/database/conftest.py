"""Fixtures for the database tests: folders of synthetic result files and databases."""

from __future__ import annotations

import pytest

from lenspipe.database import ingest
from results.synthetic import make_result, write


def standard_results():
    """Six fits: three lenses x two stages, mixed mass classes, one unfinished."""
    results = []
    for i in range(3):
        tag = f"lens_{i}"
        light = make_result(unique_tag=tag, name="light_lp", einstein_radius=0.8 + 0.3 * i,
                            seed=10 + i, data_seed=i, info={"survey": "SLACS", "index": i})
        mass = make_result(unique_tag=tag, name="mass_total", einstein_radius=0.9 + 0.3 * i,
                           mass="LpTestPowerLaw" if i == 2 else "LpTestIsothermal", seed=20 + i,
                           data_seed=i, info={"survey": "BELLS" if i == 1 else "SLACS",
                                              "index": i},
                           parent_identifier=light.identifier, completed=i != 0)
        results += [light, mass]
    return results


@pytest.fixture
def standard(tmp_path):
    """``(database path, results folder, results)`` with the standard fits ingested."""
    folder = tmp_path / "results"
    results = standard_results()
    for result in results:
        write(folder, result)
    database = tmp_path / "lenspipe.sqlite"
    report = ingest(database, [folder])
    assert report.ok and len(report.added) == len(results)
    return database, folder, results
