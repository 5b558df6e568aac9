"""Fixtures shared by every test folder (keep this small; put local ones beside the tests)."""

import os
from pathlib import Path

import pytest

SHARED_DATA = (Path(__file__).resolve().parents[1] / ".." / "shared" / "data").resolve()
"""The shared read-only data folder, a sibling of the repository (``../shared/data``)."""


@pytest.fixture(scope="session")
def slacs_dir():
    """Folder of the four SLACS HST cut-outs (``lenses.csv`` plus one folder per lens).

    Skips the test when the shared data are not present beside the repository (a clone
    used outside this project's machines); under CI (CI=true), where ../shared is always
    present, their absence is a failure instead.
    """
    path = SHARED_DATA / "slacs"
    if not (path / "lenses.csv").is_file():
        message = f"SLACS data not found at {path} (the shared data folder sits beside the repository)"
        if os.environ.get("CI", "").strip().lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path
