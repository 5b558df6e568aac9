"""The dataset file: round trip, layout, atomic writing, corrupt content."""

import numpy as np
import pytest
from astropy.io import fits

import lenspipe
from lenspipe.data import Mask, read_dataset, write_dataset
from lenspipe.errors import DatasetError, MaskError


@pytest.fixture
def tiny_mask(tiny_imaging):
    return Mask.circular(tiny_imaging.shape, tiny_imaging.pixel_scale, 0.25)


def test_round_trip_is_bit_for_bit(tmp_path, tiny_imaging, tiny_mask):
    path = tmp_path / "lens" / "dataset.fits"
    positions = np.array([[1.1, -0.3], [-0.9, 0.4]])
    provenance = {"data_path": "/raw/image.fits", "psf_path": "/raw/psf.fits", "noise_kind": "weight"}
    write_dataset(path, tiny_imaging, tiny_mask, positions=positions, provenance=provenance)
    imaging, mask, read_positions, read_provenance = read_dataset(path)
    for name in ("data", "noise_map", "psf"):
        assert getattr(imaging, name).tobytes() == getattr(tiny_imaging, name).tobytes()
    assert imaging.pixel_scale == 0.1
    assert mask == tiny_mask
    assert np.array_equal(read_positions, positions)
    assert {k: read_provenance[k] for k in provenance} == provenance
    assert read_provenance["lenspipe_version"] == lenspipe.__version__
    assert read_provenance["created"].endswith("+00:00")
    assert [p.name for p in path.parent.iterdir()] == ["dataset.fits"]  # no temporary file left


def test_layout_of_the_file(tmp_path, tiny_imaging, tiny_mask):
    path = tmp_path / "dataset.fits"
    write_dataset(path, tiny_imaging, tiny_mask)
    with fits.open(path) as hdul:
        assert [h.name for h in hdul] == ["PRIMARY", "DATA", "NOISE_MAP", "PSF", "MASK", "POSITIONS"]
        assert hdul[0].header["PIXSCALE"] == 0.1
        assert hdul[0].header["FORMAT"] == "lenspipe-dataset"
        assert hdul["MASK"].data.dtype == np.uint8
        assert np.array_equal(hdul["MASK"].data, tiny_mask.array.astype(np.uint8))  # 1 = masked out
        assert hdul["POSITIONS"].columns.names == ["Y", "X"] and len(hdul["POSITIONS"].data) == 0
    assert read_dataset(path)[2].shape == (0, 2)


def test_overwrite_replaces_the_file(tmp_path, tiny_imaging, tiny_mask):
    path = tmp_path / "dataset.fits"
    write_dataset(path, tiny_imaging, tiny_mask)
    write_dataset(path, tiny_imaging.replace(data=tiny_imaging.data + 1.0), tiny_mask)
    assert np.array_equal(read_dataset(path)[0].data, tiny_imaging.data + 1.0)


def test_mismatched_mask_or_bad_positions_raise(tmp_path, tiny_imaging):
    with pytest.raises(MaskError, match=r"mask shape \(3, 3\) differs"):
        write_dataset(tmp_path / "d.fits", tiny_imaging, Mask.circular((3, 3), 0.1, 0.2))
    with pytest.raises(MaskError, match="pixel scale"):
        write_dataset(tmp_path / "d.fits", tiny_imaging, Mask.circular(tiny_imaging.shape, 0.2, 0.4))
    mask = Mask.circular(tiny_imaging.shape, 0.1, 0.25)
    with pytest.raises(DatasetError, match=r"shape \(P, 2\)"):
        write_dataset(tmp_path / "d.fits", tiny_imaging, mask, positions=[1.0, 2.0, 3.0])
    assert not (tmp_path / "d.fits").exists()


def test_missing_corrupt_or_foreign_files_raise(tmp_path, tiny_imaging, tiny_mask):
    with pytest.raises(DatasetError, match="not found.*prepare"):
        read_dataset(tmp_path / "missing.fits")
    path = tmp_path / "dataset.fits"
    write_dataset(path, tiny_imaging, tiny_mask)
    raw = path.read_bytes()
    truncated = tmp_path / "truncated.fits"
    truncated.write_bytes(raw[: len(raw) - 4000])
    with pytest.raises(DatasetError, match="truncated|corrupt"):
        read_dataset(truncated)
    foreign = tmp_path / "foreign.fits"
    fits.PrimaryHDU(np.ones((3, 3))).writeto(foreign)
    with pytest.raises(DatasetError, match="not a lenspipe dataset file"):
        read_dataset(foreign)
    no_mask = tmp_path / "no_mask.fits"
    with fits.open(path) as hdul:
        fits.HDUList([h.copy() for h in hdul if h.name != "MASK"]).writeto(no_mask)
    with pytest.raises(DatasetError, match=r"lacks the extension\(s\) \['MASK'\]"):
        read_dataset(no_mask)
