"""Imaging: loading from FITS, validation errors, weights, round trips, SLACS data."""

import csv
import hashlib

import numpy as np
import pytest
from astropy.io import fits

from lenspipe.data import IGNORED_NOISE, Imaging, Mask, noise_map_from_weight
from lenspipe.errors import DatasetError, LenspipeError, PSFError

from .helpers import gaussian_psf, write_fits


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_from_fits_loads_arrays_and_leaves_files_untouched(fits_triplet, tiny_imaging):
    data, psf, noise = fits_triplet
    before = [(_digest(p), p.stat().st_mtime_ns) for p in fits_triplet]
    imaging = Imaging.from_fits(data, psf, noise, pixel_scale=0.1)
    assert np.array_equal(imaging.data, tiny_imaging.data)
    assert np.array_equal(imaging.noise_map, tiny_imaging.noise_map)
    assert np.array_equal(imaging.psf, tiny_imaging.psf)
    assert imaging.pixel_scale == 0.1
    assert [(_digest(p), p.stat().st_mtime_ns) for p in fits_triplet] == before


def test_to_fits_round_trip_is_bit_for_bit(tmp_path, tiny_imaging):
    paths = [tmp_path / name for name in ("d.fits", "p.fits", "n.fits")]
    tiny_imaging.to_fits(*paths)
    back = Imaging.from_fits(*paths)  # pixel scale from the PIXSCALE header card
    for name in ("data", "noise_map", "psf"):
        assert getattr(back, name).tobytes() == getattr(tiny_imaging, name).tobytes()
    assert back.pixel_scale == tiny_imaging.pixel_scale
    with pytest.raises(FileExistsError):
        tiny_imaging.to_fits(*paths)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.fits", "n.fits", "p.fits"]  # no temp files


def test_arrays_are_read_only_copies():
    data = np.ones((3, 3))
    imaging = Imaging(data, np.ones((3, 3)), np.ones((1, 1)), 0.1)
    data[0, 0] = 5.0
    assert imaging.data[0, 0] == 1.0
    with pytest.raises(ValueError):
        imaging.data[0, 0] = 2.0


def test_psf_is_normalised_to_sum_one():
    imaging = Imaging(np.ones((3, 3)), np.ones((3, 3)), 3.0 * gaussian_psf(5), 0.1)
    assert imaging.psf.sum() == pytest.approx(1.0, abs=1e-15)
    assert np.allclose(imaging.psf, gaussian_psf(5), rtol=1e-14)


def test_weight_and_inverse_variance_become_noise(tmp_path, tiny_imaging):
    weight = np.array([[4.0, 0.25], [0.0, 1.0]])
    assert np.array_equal(noise_map_from_weight(weight), [[0.5, 2.0], [IGNORED_NOISE, 1.0]])
    data = write_fits(tmp_path / "d.fits", np.zeros((2, 2)))
    psf = write_fits(tmp_path / "p.fits", tiny_imaging.psf)
    wht = write_fits(tmp_path / "w.fits", weight)
    for kind in ("weight", "inverse_variance"):
        imaging = Imaging.from_fits(data, psf, wht, pixel_scale=0.05, noise_kind=kind)
        assert np.array_equal(imaging.noise_map, [[0.5, 2.0], [1e8, 1.0]])
        mask = Mask.from_noise_map(imaging.noise_map, 0.05)
        assert mask.array.tolist() == [[False, False], [True, False]]


def test_noise_read_from_an_extension_of_the_data_file(tmp_path, tiny_imaging):
    path = tmp_path / "mef.fits"
    fits.HDUList(
        [fits.PrimaryHDU(tiny_imaging.data), fits.ImageHDU(tiny_imaging.noise_map, name="ERR")]
    ).writeto(path)
    psf = write_fits(tmp_path / "p.fits", tiny_imaging.psf)
    imaging = Imaging.from_fits(path, psf, pixel_scale=0.1, noise_hdu="ERR", psf_hdu=0)
    assert np.array_equal(imaging.noise_map, tiny_imaging.noise_map)
    with pytest.raises(DatasetError, match="no noise map given"):
        Imaging.from_fits(path, psf, pixel_scale=0.1)


# ----- bad inputs -----------------------------------------------------------------------


def _truncated(tmp_path, source):
    raw = source.read_bytes()
    path = tmp_path / "truncated.fits"
    path.write_bytes(raw[: len(raw) // 2 + 100])
    return path


def test_missing_file_raises(fits_triplet, tmp_path):
    data, psf, noise = fits_triplet
    with pytest.raises(DatasetError, match="not found"):
        Imaging.from_fits(tmp_path / "nope.fits", psf, noise, pixel_scale=0.1)
    with pytest.raises(DatasetError, match="PSF file not found"):
        Imaging.from_fits(data, tmp_path / "nope.fits", noise, pixel_scale=0.1)


def test_truncated_file_raises(tmp_path):
    big = write_fits(tmp_path / "big.fits", np.ones((60, 60)))
    noise = write_fits(tmp_path / "n.fits", np.ones((60, 60)))
    psf = write_fits(tmp_path / "p.fits", gaussian_psf(3))
    with pytest.raises(DatasetError, match="truncated|corrupt"):
        Imaging.from_fits(_truncated(tmp_path, big), psf, noise, pixel_scale=0.1)
    short = tmp_path / "short.fits"
    short.write_bytes(big.read_bytes()[:1000])
    with pytest.raises(DatasetError, match="corrupt"):
        Imaging.from_fits(short, psf, noise, pixel_scale=0.1)


def test_file_that_is_not_fits_raises(tmp_path, fits_triplet):
    junk = tmp_path / "junk.fits"
    junk.write_text("this is not a FITS file\n" * 200)
    with pytest.raises(DatasetError, match="cannot read data file"):
        Imaging.from_fits(junk, fits_triplet[1], fits_triplet[2], pixel_scale=0.1)


def test_hdu_without_an_image_raises(tmp_path, fits_triplet):
    path = tmp_path / "ext.fits"
    table = fits.BinTableHDU.from_columns([fits.Column(name="a", format="D", array=np.ones(3))])
    fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(np.ones((7, 9)), name="SCI"), table]).writeto(path)
    _, psf, noise = fits_triplet
    with pytest.raises(DatasetError, match="no image data.*hdu="):
        Imaging.from_fits(path, psf, noise, pixel_scale=0.1)
    with pytest.raises(DatasetError, match="not an image"):
        Imaging.from_fits(path, psf, noise, pixel_scale=0.1, hdu=2, noise_hdu=0, psf_hdu=0)
    with pytest.raises(DatasetError, match="has no HDU 5"):
        Imaging.from_fits(path, psf, noise, pixel_scale=0.1, hdu=5, noise_hdu=0, psf_hdu=0)
    imaging = Imaging.from_fits(path, psf, noise, pixel_scale=0.1, hdu="SCI", noise_hdu=0, psf_hdu=0)
    assert imaging.shape == (7, 9)


def test_cube_raises(tmp_path, fits_triplet):
    cube = write_fits(tmp_path / "cube.fits", np.ones((2, 7, 9)))
    with pytest.raises(DatasetError, match="3 dimensions.*2D image"):
        Imaging.from_fits(cube, fits_triplet[1], fits_triplet[2], pixel_scale=0.1)


@pytest.mark.parametrize(
    "data, noise, match",
    [
        (np.zeros((0, 4)), np.zeros((0, 4)), "empty"),
        (np.ones(5), np.ones(5), "2D image"),
        (np.ones((7, 9)), np.ones((7, 8)), r"noise map has shape \(7, 8\) but the data has shape \(7, 9\)"),
        (np.where(np.eye(3) > 0, np.nan, 1.0), np.ones((3, 3)), "3 NaN or inf pixel"),
        (np.array([[1.0, np.inf]]), np.ones((1, 2)), "NaN or inf"),
        (np.ones((2, 2)), np.array([[1.0, -1.0], [1.0, 1.0]]), "non-positive.*-1.0 at row 0, column 1"),
        (np.ones((2, 2)), np.array([[1.0, 0.0], [1.0, 1.0]]), "non-positive"),
        (np.ones((2, 2)), np.array([[1.0, np.nan], [1.0, 1.0]]), "NaN"),
    ],
)
def test_bad_arrays_raise(data, noise, match):
    with pytest.raises(DatasetError, match=match):
        Imaging(data, noise, gaussian_psf(3), 0.1)


def test_bad_noise_file_raises(tmp_path, fits_triplet):
    data, psf, _ = fits_triplet
    negative = write_fits(tmp_path / "neg.fits", -np.ones((7, 9)))
    with pytest.raises(DatasetError, match="noise_kind='weight'"):
        Imaging.from_fits(data, psf, negative, pixel_scale=0.1)
    with pytest.raises(DatasetError, match="negative, NaN or infinite"):
        Imaging.from_fits(data, psf, negative, pixel_scale=0.1, noise_kind="weight")
    mismatch = write_fits(tmp_path / "small.fits", np.ones((7, 8)))
    with pytest.raises(DatasetError, match="shape"):
        Imaging.from_fits(data, psf, mismatch, pixel_scale=0.1)
    with pytest.raises(DatasetError, match="noise_kind must be one of"):
        Imaging.from_fits(data, psf, mismatch, pixel_scale=0.1, noise_kind="sigma")


@pytest.mark.parametrize(
    "psf, match",
    [
        (np.ones((4, 5)), r"shape \(4, 5\); both dimensions must be odd"),
        (np.ones((3, 2)), "must be odd"),
        (np.zeros((3, 3)), "sums to 0"),
        (-gaussian_psf(3), "must be positive"),
        (np.where(np.eye(3) > 0, np.nan, 0.1), "NaN or inf"),
        (np.ones(3), "2D array"),
    ],
)
def test_bad_psf_raises(psf, match):
    with pytest.raises(PSFError, match=match):
        Imaging(np.ones((3, 3)), np.ones((3, 3)), psf, 0.1)


def test_even_psf_file_raises(tmp_path, fits_triplet):
    even = write_fits(tmp_path / "even.fits", np.ones((4, 4)))
    with pytest.raises(PSFError, match="odd"):
        Imaging.from_fits(fits_triplet[0], even, fits_triplet[2], pixel_scale=0.1)


@pytest.mark.parametrize("pixel_scale, match", [(None, "no pixel scale"), (0.0, "positive"), (-0.05, "positive"),
                                                (float("nan"), "positive"), ("abc", "not a number")])
def test_bad_pixel_scale_raises(pixel_scale, match):
    with pytest.raises(DatasetError, match=match):
        Imaging(np.ones((3, 3)), np.ones((3, 3)), gaussian_psf(3), pixel_scale)


def test_missing_pixel_scale_in_file_raises(fits_triplet):
    with pytest.raises(DatasetError, match="no PIXSCALE header card; pass pixel_scale="):
        Imaging.from_fits(*fits_triplet)


def test_errors_are_lenspipe_errors():
    assert issubclass(PSFError, DatasetError) and issubclass(DatasetError, LenspipeError)


# ----- real HST data --------------------------------------------------------------------


def test_slacs_cutouts_load_and_flagged_pixels_are_masked(slacs_dir):
    with open(slacs_dir / "lenses.csv") as handle:
        lenses = list(csv.DictReader(handle))
    assert len(lenses) == 4
    for lens in lenses:
        folder = slacs_dir / lens["name"]
        imaging = Imaging.from_fits(
            folder / "image.fits", folder / "psf.fits", folder / "noise.fits",
            pixel_scale=float(lens["pixel_scale_arcsec"]),
        )
        assert imaging.shape == (201, 201) and imaging.psf.shape == (15, 15)
        assert imaging.pixel_scale == 0.05
        assert imaging.psf.sum() == pytest.approx(1.0, abs=1e-12)
        raw_noise = fits.getdata(folder / "noise.fits")
        flagged = raw_noise == np.float32(1e8)
        mask = Mask.from_noise_map(imaging.noise_map, imaging.pixel_scale)
        assert np.array_equal(mask.array, flagged)
        assert mask.pixels_in_mask == 201 * 201 - int(flagged.sum())
        fitted = Mask.circular(imaging.shape, imaging.pixel_scale, 3.0) | mask
        assert np.all(fitted.array[flagged])  # flagged pixels stay masked out
        blurring = fitted.blurring_mask_from(imaging.psf.shape)
        assert blurring.pixels_in_mask > 0
    j0029 = Mask.from_noise_map(fits.getdata(slacs_dir / "J0029-0055" / "noise.fits"), 0.05)
    assert 201 * 201 - j0029.pixels_in_mask == 1168
