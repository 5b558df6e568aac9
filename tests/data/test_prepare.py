"""Preparation: cut-outs that keep the lens at the grid centre, sky subtraction, preview."""

import numpy as np
import pytest

from lenspipe.data import Imaging, Mask, cutout_slices, prepare_imaging, preview_png, sky_level_from
from lenspipe.errors import DatasetError

from .helpers import gaussian_psf


def _imaging(shape, pixel_scale=0.1, data=None, noise=None):
    data = np.arange(np.prod(shape), dtype=float).reshape(shape) if data is None else data
    noise = np.ones(shape) if noise is None else noise
    return Imaging(data, noise, gaussian_psf(3), pixel_scale)


def test_odd_cutout_is_centred_on_the_nearest_pixel():
    rows, columns, offset = cutout_slices((11, 11), 0.1, (0.1, -0.2), (5, 5))
    assert (rows, columns) == (slice(2, 7), slice(1, 6))  # centre pixel (4, 3)
    assert np.allclose(offset, 0.0, atol=1e-12)
    rows, columns, offset = cutout_slices((11, 11), 0.1, (0.03, 0.04), (5, 5))
    assert (rows, columns) == (slice(3, 8), slice(3, 8))  # nearest pixel is the centre (5, 5)
    assert np.allclose(offset, [0.03, 0.04], atol=1e-12)
    image = _imaging((11, 11))
    cut = prepare_imaging(image, centre=(0.1, -0.2), cutout_shape=(5, 5))
    assert np.array_equal(cut.data, image.data[2:7, 1:6])
    assert np.array_equal(cut.psf, image.psf) and cut.pixel_scale == 0.1


def test_even_cutout_is_centred_on_the_nearest_pixel_corner():
    rows, columns, offset = cutout_slices((10, 10), 0.1, None, (4, 6))
    assert (rows, columns) == (slice(3, 7), slice(2, 8))
    assert np.allclose(offset, 0.0)
    rows, columns, offset = cutout_slices((10, 10), 0.1, (0.12, 0.0), (4, 4))
    assert rows == slice(2, 6)  # corner between rows 3 and 4, 0.1" above the image centre
    assert np.allclose(offset, [0.02, 0.0], atol=1e-12)


def test_default_cutout_keeps_the_whole_image_or_the_largest_that_fits():
    image = _imaging((9, 8))
    same = prepare_imaging(image)
    assert np.array_equal(same.data, image.data)
    rows, columns, _ = cutout_slices((9, 8), 0.1, (0.2, 0.1))
    assert (rows, columns) == (slice(0, 5), slice(2, 8))  # centre pixel row 2; corner at column 5


def test_lens_stays_at_the_centre_after_the_cutout():
    yy, xx = np.mgrid[0:41, 0:41]
    y, x = (20 - yy) * 0.05, (xx - 20) * 0.05
    blob = np.exp(-((y - 0.35) ** 2 + (x + 0.4) ** 2) / (2 * 0.1**2))
    cut = prepare_imaging(_imaging((41, 41), 0.05, data=blob), centre=(0.35, -0.4), cutout_shape=(15, 15))
    assert np.unravel_index(np.argmax(cut.data), cut.shape) == (7, 7)


def test_cutout_off_the_image_raises():
    with pytest.raises(DatasetError, match="runs off the 11x11 image along rows.*smaller cutout_shape"):
        cutout_slices((11, 11), 0.1, (0.4, 0.0), (5, 5))
    with pytest.raises(DatasetError, match="centre"):
        cutout_slices((11, 11), 0.1, (0.0, 3.0))


def test_sky_subtraction_uses_the_outer_median_and_ignores_flagged_pixels():
    data = np.full((21, 21), 3.0)
    data[8:13, 8:13] += 50.0  # the lens
    noise = np.ones((21, 21))
    data[0, :4], noise[0, :4] = 1000.0, 1e8  # flagged pixels in the sky region
    image = _imaging((21, 21), data=data, noise=noise)
    assert sky_level_from(image) == 3.0
    cut = prepare_imaging(image, subtract_sky=True)
    assert cut.data[20, 20] == 0.0 and cut.data[10, 10] == 50.0
    assert sky_level_from(image, sky_annulus=(0.0, 0.25)) == 53.0  # the lens region only
    with pytest.raises(DatasetError, match="usable pixels"):
        sky_level_from(image, sky_annulus=(5.0, 6.0))


def test_preview_png_is_written(tmp_path):
    rng = np.random.default_rng(0)
    noise = np.full((31, 31), 0.1)
    noise[0, 0] = 1e8
    image = _imaging((31, 31), 0.05, data=rng.normal(0.0, 0.1, (31, 31)), noise=noise)
    path = tmp_path / "preview" / "dataset.png"
    preview_png(path, image, Mask.circular((31, 31), 0.05, 0.5), title="J0000")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in path.parent.iterdir()] == ["dataset.png"]
