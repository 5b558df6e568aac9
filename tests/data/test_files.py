"""Files lenspipe writes are readable as the umask allows (not mkstemp's 0600) and atomic."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import numpy as np
import pytest

from lenspipe.data.files import atomic_file

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from results.synthetic import make_result, write  # noqa: E402


@pytest.fixture(params=[0o022, 0o007, 0o077])
def umask(request):
    previous = os.umask(request.param)
    yield request.param
    os.umask(previous)


def _mode(path):
    return stat.S_IMODE(path.stat().st_mode)


def test_result_dataset_and_preview_files_honour_the_umask(tmp_path, umask):
    from lenspipe.data import Imaging, Mask, preview_png, write_dataset

    result = write(tmp_path, make_result(unique_tag="lens_1", seed=1))
    imaging = Imaging(data=np.ones((9, 9)), noise_map=np.ones((9, 9)), psf=np.ones((3, 3)) / 9,
                      pixel_scale=0.1)
    mask = Mask.circular((9, 9), 0.1, 0.3)
    write_dataset(tmp_path / "dataset.fits", imaging, mask, positions=None, provenance={"name": "x"})
    preview_png(tmp_path / "dataset.png", imaging, mask)
    expected = 0o666 & ~umask
    assert {path.name: _mode(path) for path in (result, tmp_path / "dataset.fits", tmp_path / "dataset.png")} \
        == {"result.h5": expected, "dataset.fits": expected, "dataset.png": expected}


def test_an_interrupted_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_file(path, "w") as handle:
            handle.write("new, half")
            raise RuntimeError("interrupted")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]
