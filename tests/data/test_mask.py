"""Mask: shapes, combination, files, flagged noise, blurring region, errors."""

import numpy as np
import pytest

from lenspipe.data import Mask, grid_2d_from
from lenspipe.errors import DatasetError, MaskError, PSFError
from lenspipe.fit.oversampling import OverSampling, PixelSampler

from .helpers import write_fits


def test_circular_mask_counts_pixels_within_radius():
    # integer (i, j) with i^2 + j^2 <= 9: 7 + 2*5 + 2*5 + 2*1 = 29 pixels (radius 3 pixels, on-radius included)
    mask = Mask.circular((11, 11), 0.1, 0.3)
    assert mask.pixels_in_mask == 29
    assert mask.pixels_in == 29
    assert not mask.array[5, 5] and not mask.array[5, 8] and mask.array[5, 9]


def test_off_centre_circular_and_annular_masks():
    mask = Mask.circular((11, 11), 0.1, 0.3, centre=(0.1, -0.2))  # centre pixel is row 4, column 3
    assert mask.pixels_in_mask == 29
    assert not mask.array[4, 3] and not mask.array[1, 3] and mask.array[0, 3]
    annulus = Mask.annular((11, 11), 0.1, 0.15, 0.3)  # removes the 9 pixels with i^2 + j^2 <= 2
    assert annulus.pixels_in_mask == 20
    assert annulus.array[5, 5] and annulus.array[4, 4] and not annulus.array[5, 7]
    with pytest.raises(MaskError, match="smaller than outer_radius"):
        Mask.annular((11, 11), 0.1, 0.3, 0.2)


def test_or_masks_out_pixels_masked_in_either():
    a = Mask(np.array([[True, False], [False, False]]), 0.1)
    b = Mask(np.array([[False, True], [False, False]]), 0.1)
    assert (a | b).array.tolist() == [[True, True], [False, False]]
    assert (a & b).array.tolist() == [[False, False], [False, False]]
    with pytest.raises(MaskError, match="shapes"):
        a | Mask(np.zeros((3, 3), bool), 0.1)
    with pytest.raises(MaskError, match="pixel scales"):
        a | Mask(np.zeros((2, 2), bool), 0.2)


def test_empty_mask_raises():
    with pytest.raises(MaskError, match="masks out all 16 pixels"):
        Mask.circular((4, 4), 0.1, 0.01)  # no pixel centre within 0.01" of the corner at (0, 0)
    a = Mask(np.array([[True, False]]), 0.1)
    with pytest.raises(MaskError, match="masks out all"):
        a | Mask(np.array([[False, True]]), 0.1)
    with pytest.raises(MaskError, match="0/1"):
        Mask(np.array([[0, 2]]), 0.1)


def test_masked_grid_is_row_major_centres_of_fitted_pixels():
    array = np.ones((3, 4), bool)
    array[0, 3] = array[2, 0] = array[1, 1] = False
    mask = Mask(array, 0.5)
    expected = grid_2d_from((3, 4), 0.5)[~array.ravel()]
    assert np.array_equal(mask.masked_grid, expected)
    assert mask.masked_grid.tolist() == [[0.5, 0.75], [0.0, -0.25], [-0.5, -0.75]]
    assert mask.unmasked_indices.tolist() == [3, 5, 8]


def test_from_noise_map_masks_flagged_pixels():
    noise = np.array([[1.0, 1e8], [2e7, 9.9e6]])
    assert Mask.from_noise_map(noise, 0.05).array.tolist() == [[False, True], [True, False]]
    assert Mask.from_noise_map(noise, 0.05, ignore_above=5.0).pixels_in_mask == 1


def test_from_fits_and_invert(tmp_path):
    path = write_fits(tmp_path / "mask.fits", np.array([[1, 0, 0], [0, 0, 1]], dtype=np.uint8))
    assert Mask.from_fits(path, 0.1).array.tolist() == [[True, False, False], [False, False, True]]
    assert Mask.from_fits(path, 0.1, invert=True).array.tolist() == [[False, True, True], [True, True, False]]
    with pytest.raises(MaskError, match="not found"):
        Mask.from_fits(tmp_path / "missing.fits", 0.1)
    nan = write_fits(tmp_path / "nan.fits", np.array([[np.nan, 0.0]]))
    with pytest.raises(MaskError, match="NaN"):
        Mask.from_fits(nan, 0.1)
    assert issubclass(MaskError, DatasetError)


def test_blurring_mask_of_one_pixel_by_hand():
    array = np.ones((7, 7), bool)
    array[3, 3] = False
    blurring = Mask(array, 0.1).blurring_mask_from((3, 5))
    expected = np.ones((7, 7), bool)
    expected[2:5, 1:6] = False  # the 3x5 footprint around (3, 3) ...
    expected[3, 3] = True  # ... minus the fitted pixel itself
    assert np.array_equal(blurring.array, expected)
    assert blurring.pixels_in_mask == 14


def test_blurring_mask_of_two_pixels_by_hand():
    array = np.ones((6, 6), bool)
    array[2, 2] = array[3, 3] = False
    blurring = Mask(array, 0.1).blurring_mask_from((3, 3))
    expected = np.array(
        [
            [1, 1, 1, 1, 1, 1],
            [1, 0, 0, 0, 1, 1],
            [1, 0, 1, 0, 0, 1],
            [1, 0, 0, 1, 0, 1],
            [1, 1, 0, 0, 0, 1],
            [1, 1, 1, 1, 1, 1],
        ],
        bool,
    )
    assert np.array_equal(blurring.array, expected)
    # the blurring pixels' centres are the blurring points of the fit's sampler, one per pixel
    mask = Mask(array, 0.1)
    sampler = PixelSampler(mask.masked_grid, blurring.masked_grid, 0.1, OverSampling.uniform(2))
    assert (sampler.n_pixels, sampler.n_blurring, sampler.n_fitted_points, sampler.n_points) == (2, 12, 8, 20)
    assert np.array_equal(sampler.grid[8:], blurring.masked_grid)
    values = np.arange(20.0)
    fitted, blurred = sampler.binned(values)
    assert np.array_equal(fitted, [1.5, 5.5]) and np.array_equal(blurred, values[8:])


def test_blurring_region_off_the_edge_raises():
    array = np.ones((7, 7), bool)
    array[1, 3] = False
    mask = Mask(array, 0.1)
    assert mask.blurring_mask_from((3, 3)).pixels_in_mask == 8
    with pytest.raises(MaskError, match="falls off the 7x7 image.*smaller mask radius, or pad the image"):
        mask.blurring_mask_from((5, 5))
    with pytest.raises(MaskError, match="falls off"):
        Mask.circular((21, 21), 0.1, 0.9).blurring_mask_from((5, 5))  # radius 9 pixels + 2 > 10


def test_blurring_mask_of_point_kernel_is_empty_and_even_kernel_raises():
    mask = Mask.circular((9, 9), 0.1, 0.2)
    blurring = mask.blurring_mask_from((1, 1))
    assert blurring.pixels_in_mask == 0
    sampler = PixelSampler(mask.masked_grid, blurring.masked_grid, 0.1, OverSampling.uniform(1))
    fitted, blurred = sampler.binned(np.ones((3, sampler.n_points)))
    assert fitted.shape == (3, mask.pixels_in_mask) and blurred.shape == (3, 0)
    with pytest.raises(PSFError, match="odd"):
        mask.blurring_mask_from((4, 5))
