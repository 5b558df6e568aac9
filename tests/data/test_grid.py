"""Pixel grids, uniform and adaptive over-sampling, binning."""

import numpy as np
import pytest
from scipy.special import erf

from lenspipe.data import Mask, OverSampler, grid_2d_from, sub_size_map_from_radial_bins
from lenspipe.errors import MaskError


def test_pixel_centres_of_a_3x4_image_follow_conventions():
    # y = (N_y/2 - 0.5 - i) s, x = (j - N_x/2 + 0.5) s with N_y = 3, N_x = 4, s = 0.5
    grid = grid_2d_from((3, 4), 0.5).reshape(3, 4, 2)
    assert grid[0, 0].tolist() == [0.5, -0.75]  # top left
    assert grid[0, 3].tolist() == [0.5, 0.75]  # top right
    assert grid[2, 0].tolist() == [-0.5, -0.75]  # bottom left
    assert grid[2, 3].tolist() == [-0.5, 0.75]  # bottom right
    assert grid[1, 1].tolist() == [0.0, -0.25]
    assert np.array_equal(grid.reshape(-1, 2).mean(axis=0), [0.0, 0.0])


def test_uniform_sub_grid_is_symmetric_about_pixel_centres():
    mask = Mask(np.array([[True, False], [True, True]]), 1.0)  # one pixel, centre (0.5, 0.5)
    sampler = OverSampler(mask, 2)
    assert sampler.sub_grid.tolist() == [[0.75, 0.25], [0.75, 0.75], [0.25, 0.25], [0.25, 0.75]]
    sampler = OverSampler(mask, 3)
    assert np.allclose(sampler.sub_grid[:, 0], 0.5 + np.repeat([1 / 3, 0, -1 / 3], 3), atol=1e-15)
    assert np.allclose(sampler.sub_grid[:, 1], 0.5 + np.tile([-1 / 3, 0, 1 / 3], 3), atol=1e-15)
    assert (sampler.n_pixels, sampler.n_sub_pixels, sampler.sub_size) == (1, 9, 3)


def test_binning_is_the_mean_of_each_pixels_sub_pixels():
    mask = Mask.circular((9, 9), 0.1, 0.3)
    sampler = OverSampler(mask, 4)
    values = np.random.default_rng(3).normal(size=(2, 3, sampler.n_sub_pixels))
    binned = sampler.binned(values)
    assert binned.shape == (2, 3, mask.pixels_in_mask)
    expected = values.reshape(2, 3, mask.pixels_in_mask, 16).mean(axis=-1)
    assert np.allclose(binned, expected, rtol=1e-14, atol=1e-15)
    assert np.allclose(sampler.binned(sampler.sub_grid.T), mask.masked_grid.T, atol=1e-15)
    integers = np.arange(sampler.n_sub_pixels, dtype=float)  # exact in binary: the mean is exact
    assert np.array_equal(sampler.binned(integers), integers.reshape(-1, 16).mean(axis=1))
    with pytest.raises(ValueError, match="sub-pixels"):
        sampler.binned(values[..., :-1])


def _gaussian_pixel_means(mask, sigma, centre):
    """Exact mean of a unit circular Gaussian over each fitted pixel (erf integrals)."""
    s = mask.pixel_scale
    grid = mask.masked_grid

    def one_axis(c, c0):
        a, b = (c - s / 2 - c0) / (np.sqrt(2) * sigma), (c + s / 2 - c0) / (np.sqrt(2) * sigma)
        return sigma * np.sqrt(np.pi / 2) * (erf(b) - erf(a)) / s

    return one_axis(grid[:, 0], centre[0]) * one_axis(grid[:, 1], centre[1])


def test_uniform_over_sampling_of_a_gaussian_converges_like_one_over_s_squared():
    mask = Mask.circular((15, 15), 0.1, 0.6)
    sigma, centre = 0.12, (0.013, -0.021)
    exact = _gaussian_pixel_means(mask, sigma, centre)
    errors = []
    for s in (2, 4, 8, 16):
        sampler = OverSampler(mask, s)
        dy, dx = (sampler.sub_grid - centre).T
        values = np.exp(-(dy**2 + dx**2) / (2 * sigma**2))
        errors.append(np.abs(sampler.binned(values) - exact).max())
    ratios = np.array(errors[:-1]) / np.array(errors[1:])
    assert np.all(np.abs(ratios - 4.0) < 0.25), ratios  # midpoint rule: error ~ 1/s^2
    assert errors[-1] < 1e-3


def test_sub_sizes_from_radial_bins():
    mask = Mask.circular((21, 21), 0.05, 0.5)
    sizes = sub_size_map_from_radial_bins(mask, [(0.0, 0.0)], (0.1, 0.3), (32, 8, 2))
    size_image = np.zeros(mask.shape, int)
    size_image[~mask.array] = sizes
    row = size_image[10]  # through the centre; pixel k from the centre is at 0.05 k arcsec
    assert row[10:].tolist() == [32, 32, 8, 8, 8, 8, 2, 2, 2, 2, 2]  # r < 0.1, 0.1 <= r < 0.3, r >= 0.3
    assert np.count_nonzero(sizes == 32) == 9  # r = 0, four pixels at 0.05 and four at 0.0707
    two = sub_size_map_from_radial_bins(mask, [(0.0, 0.0), (0.0, 0.25)], (0.12,), (4, 1))
    two_image = np.zeros(mask.shape, int)
    two_image[~mask.array] = two
    assert two_image[10, 10:].tolist() == [4, 4, 4, 4, 4, 4, 4, 4, 1, 1, 1]  # nearest centre wins
    with pytest.raises(MaskError, match="one more sub size"):
        sub_size_map_from_radial_bins(mask, [(0, 0)], (0.1, 0.3), (4, 2))
    with pytest.raises(MaskError, match="increasing"):
        sub_size_map_from_radial_bins(mask, [(0, 0)], (0.3, 0.1), (4, 2, 1))


def test_adaptive_over_sampler_bins_each_pixel_to_its_own_mean():
    mask = Mask.circular((21, 21), 0.05, 0.5)
    sizes = sub_size_map_from_radial_bins(mask, [(0.0, 0.0)], (0.1, 0.3), (32, 8, 2))
    sampler = OverSampler(mask, sizes)
    assert sampler.n_sub_pixels == int((sizes**2).sum())
    assert not sampler.is_uniform
    values = np.random.default_rng(4).normal(size=(3, sampler.n_sub_pixels))
    counts = np.bincount(sampler.sub_pixel_to_pixel, minlength=sampler.n_pixels)
    assert np.array_equal(counts, sizes**2)
    expected = np.stack(
        [np.bincount(sampler.sub_pixel_to_pixel, weights=v, minlength=sampler.n_pixels) / counts for v in values]
    )
    assert np.allclose(sampler.binned(values), expected, rtol=1e-12, atol=1e-14)
    assert np.allclose(sampler.binned(sampler.sub_grid.T), mask.masked_grid.T, atol=1e-14)
    assert np.allclose(np.bincount(sampler.sub_pixel_to_pixel, weights=sampler.sub_fraction), 1.0)
    image_sizes = np.ones(mask.shape, int)
    image_sizes[~mask.array] = sizes
    assert np.array_equal(OverSampler(mask, image_sizes).sub_grid, sampler.sub_grid)


def test_adaptive_sub_sizes_match_uniform_where_equal():
    mask = Mask.circular((9, 9), 0.1, 0.3)
    uniform = OverSampler(mask, 4)
    adaptive = OverSampler(mask, np.full(mask.pixels_in_mask, 4))
    assert adaptive.is_uniform
    assert np.array_equal(uniform.sub_grid, adaptive.sub_grid)
    with pytest.raises(MaskError, match="integers >= 1"):
        OverSampler(mask, 0)
    with pytest.raises(MaskError, match="one size per fitted pixel"):
        OverSampler(mask, np.full(3, 2))
