"""Fixtures shared by every test folder (keep this small; put local ones beside the tests)."""

from pathlib import Path

import pytest

SHARED_DATA = (Path(__file__).resolve().parents[1] / ".." / "shared" / "data").resolve()
"""The shared read-only data folder, a sibling of the repository (``../shared/data``)."""


@pytest.fixture(scope="session")
def slacs_dir():
    """Folder of the four SLACS HST cut-outs (``lenses.csv`` plus one folder per lens).

    Skips the test when the shared data are not present beside the repository.
    """
    path = SHARED_DATA / "slacs"
    if not (path / "lenses.csv").is_file():
        pytest.skip(f"SLACS data not found at {path} (the shared data folder sits beside the repository)")
    return path
