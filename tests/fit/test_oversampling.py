"""Over-sampling, the one module of the fit and the simulator: points, binning, maps, convergence to the
exact pixel integral, and the adaptive default's accuracy."""

import numpy as np
import pytest
from fit_helpers import gaussian_psf, p1_like_tracer
from scipy.special import ndtr

from lenspipe.data import Imaging, Mask, simulate_imaging
from lenspipe.errors import MaskError
from lenspipe.fit.fit_imaging import FitImaging, MaskedImaging
from lenspipe.fit.oversampling import OverSampling, PixelSampler, pixel_rule, sub_size_map_from_radial_bins
from lenspipe.lensing import Galaxy, Tracer
from lenspipe.profiles import GaussianSph, Sersic


def _sampler(mask, over_sampling):
    return PixelSampler(mask.masked_grid, np.zeros((0, 2)), mask.pixel_scale, over_sampling)


def _pixel_means(profile, sampler):
    return sampler.binned(profile.image_from(sampler.grid))[0]


def _exact_gaussian_pixel_means(mask, centre, sigma, intensity):
    """Mean of a circular Gaussian over each fitted pixel, from the normal CDF."""
    h = mask.pixel_scale
    grid = mask.masked_grid
    dy = ndtr((grid[:, 0] + h / 2 - centre[0]) / sigma) - ndtr((grid[:, 0] - h / 2 - centre[0]) / sigma)
    dx = ndtr((grid[:, 1] + h / 2 - centre[1]) / sigma) - ndtr((grid[:, 1] - h / 2 - centre[1]) / sigma)
    return intensity * 2 * np.pi * sigma**2 * dy * dx / h**2


@pytest.mark.parametrize("cells, order", [(1, 1), (3, 1), (2, 3), (4, 2)])
def test_pixel_rule_weights_sum_to_one_and_integrate_polynomials(cells, order):
    offsets, weights = pixel_rule(cells, order, 1.0)
    assert weights.sum() == pytest.approx(1.0, abs=1e-15)
    assert np.all(np.abs(offsets) < 0.5)
    # the mean of x^2 over a unit pixel is 1/12: exact for any rule of order >= 2, and for midpoint
    # cells to within 1/(12 cells^2)
    mean_x2 = np.sum(weights * offsets[:, 1] ** 2)
    expected_error = 0.0 if order >= 2 else 1.0 / (12 * cells**2)
    assert mean_x2 == pytest.approx(1.0 / 12.0 - expected_error, abs=1e-14)


def test_uniform_points_are_symmetric_about_pixel_centres():
    mask = Mask(np.array([[True, False], [True, True]]), 1.0)  # one pixel, centre (0.5, 0.5)
    sampler = _sampler(mask, OverSampling.uniform(2))
    assert sampler.grid.tolist() == [[0.75, 0.25], [0.75, 0.75], [0.25, 0.25], [0.25, 0.75]]  # row-major, top first
    sampler = _sampler(mask, OverSampling.uniform(3))
    np.testing.assert_allclose(sampler.grid[:, 0], 0.5 + np.repeat([1 / 3, 0, -1 / 3], 3), atol=1e-15)
    np.testing.assert_allclose(sampler.grid[:, 1], 0.5 + np.tile([-1 / 3, 0, 1 / 3], 3), atol=1e-15)
    assert (sampler.n_pixels, sampler.n_fitted_points, sampler.n_points) == (1, 9, 9)


def test_uniform_points_are_s_by_s_midpoints_of_every_pixel():
    mask = Mask.circular((12, 12), 0.1, 0.45)
    sampler = _sampler(mask, OverSampling.uniform(3))
    steps = ((np.arange(3) + 0.5) / 3 - 0.5) * 0.1  # sub-pixel centres, 1/3 pixel apart
    offsets = np.stack(np.meshgrid(-steps, steps, indexing="ij"), axis=-1).reshape(-1, 2)
    expected = (mask.masked_grid[:, None, :] + offsets[None]).reshape(-1, 2)
    np.testing.assert_allclose(sampler.grid, expected, rtol=0, atol=1e-15)


def test_binning_is_the_mean_of_each_pixels_points():
    mask = Mask.circular((9, 9), 0.1, 0.3)
    sampler = _sampler(mask, OverSampling.uniform(4))
    values = np.random.default_rng(3).normal(size=(2, 3, sampler.n_points))
    binned, blurring = sampler.binned(values)
    assert binned.shape == (2, 3, mask.pixels_in_mask) and blurring.shape == (2, 3, 0)
    np.testing.assert_allclose(binned, values.reshape(2, 3, -1, 16).mean(axis=-1), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(sampler.binned(sampler.grid.T)[0], mask.masked_grid.T, rtol=0, atol=1e-15)
    integers = np.arange(sampler.n_points, dtype=float)  # sums of integers and 1/16 are exact in binary
    assert np.array_equal(sampler.binned(integers)[0], integers.reshape(-1, 16).mean(axis=1))
    with pytest.raises(ValueError, match="points on the last axis"):
        sampler.binned(values[..., :-1])


def test_simulator_bins_with_the_fits_uniform_rule():
    """simulate_imaging's model (1 x 1 PSF, so no padding) is the uniform sampler's pixel means of the light."""
    profile = Sersic(centre=(0.03, -0.01), ell_comps=(0.1, 0.05), intensity=2.0, effective_radius=0.3,
                     sersic_index=2.5)
    for sub_size in (1, 3, 4):
        _, model = simulate_imaging(profile, (14, 15), 0.05, np.ones((1, 1)), 1000.0, seed=0, sub_size=sub_size,
                                    add_noise=False)
        mask = Mask(np.zeros((14, 15), bool), 0.05)
        expected = _pixel_means(profile, _sampler(mask, OverSampling.uniform(sub_size))).reshape(14, 15)
        np.testing.assert_allclose(model, expected, rtol=1e-12)  # the same rule, up to the FFT's round-off


def test_uniform_over_sampling_converges_to_the_analytic_pixel_integral():
    mask = Mask.circular((20, 20), 0.05, 0.4)
    centre, sigma = (0.013, -0.021), 0.07
    profile = GaussianSph(centre=centre, intensity=3.0, sigma=sigma)
    exact = _exact_gaussian_pixel_means(mask, centre, sigma, 3.0)
    errors = [np.max(np.abs(_pixel_means(profile, _sampler(mask, OverSampling.uniform(s))) - exact))
              for s in (2, 4, 8, 16)]
    ratios = np.array(errors[:-1]) / np.array(errors[1:])
    np.testing.assert_allclose(ratios, 4.0, rtol=0.1)  # the midpoint rule's 1/s^2
    assert errors[-1] < 1e-3 * exact.max()
    # Gauss points converge much faster: 4 points beat 64 midpoints
    gauss = np.max(np.abs(_pixel_means(profile, _sampler(mask, OverSampling.adaptive(refine_radius=0))) - exact))
    assert gauss < errors[2]


def test_map_of_equal_sizes_equals_uniform():
    mask = Mask.circular((16, 16), 0.1, 0.7)
    profile = Sersic(centre=(0.02, 0.01), ell_comps=(0.1, 0.0), intensity=1.0, effective_radius=0.3, sersic_index=2.5)
    uniform = _pixel_means(profile, _sampler(mask, OverSampling.uniform(3)))
    mapped = _pixel_means(profile, _sampler(mask, OverSampling.from_map(np.full(mask.pixels_in_mask, 3))))
    np.testing.assert_allclose(mapped, uniform, rtol=1e-14)
    sizes = np.where(np.arange(mask.pixels_in_mask) % 2 == 0, 2, 5)
    mixed = _pixel_means(profile, _sampler(mask, OverSampling.from_map(sizes)))
    for size in (2, 5):
        expected = _pixel_means(profile, _sampler(mask, OverSampling.uniform(size)))
        np.testing.assert_allclose(mixed[sizes == size], expected[sizes == size], rtol=1e-14)


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
    with pytest.raises(MaskError, match="integer >= 1"):
        sub_size_map_from_radial_bins(mask, [(0, 0)], (0.1,), (4, 0))


def test_map_sampler_bins_each_pixel_to_its_own_mean():
    mask = Mask.circular((21, 21), 0.05, 0.5)
    sizes = sub_size_map_from_radial_bins(mask, [(0.0, 0.0)], (0.1, 0.3), (32, 8, 2))
    sampler = _sampler(mask, OverSampling.from_map(sizes))
    assert sampler.n_fitted_points == int((sizes**2).sum())
    # the pixel owning each point, found from its coordinates (points lie strictly inside their pixel)
    rows = np.rint(21 / 2 - 0.5 - sampler.grid[:, 0] / 0.05).astype(int)
    columns = np.rint(sampler.grid[:, 1] / 0.05 + 21 / 2 - 0.5).astype(int)
    index_image = np.full(mask.shape, -1)
    index_image[~mask.array] = np.arange(mask.pixels_in_mask)
    owner = index_image[rows, columns]
    assert owner.min() == 0 and np.array_equal(np.bincount(owner, minlength=sampler.n_pixels), sizes**2)
    values = np.random.default_rng(4).normal(size=(3, sampler.n_points))
    expected = np.stack([np.bincount(owner, weights=v, minlength=sampler.n_pixels) / sizes**2 for v in values])
    np.testing.assert_allclose(sampler.binned(values)[0], expected, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(sampler.binned(sampler.grid.T)[0], mask.masked_grid.T, rtol=0, atol=1e-14)


def test_bad_sizes_raise():
    mask = Mask.circular((9, 9), 0.1, 0.3)
    for bad in (0, 2.5, -1):
        with pytest.raises(MaskError, match="sub_size must be an integer >= 1"):
            OverSampling.uniform(bad)
    with pytest.raises(MaskError, match="one integer >= 1 per fitted pixel"):
        OverSampling.from_map(np.array([2, 0, 3]))
    with pytest.raises(MaskError, match=f"the mask has {mask.pixels_in_mask} pixels"):
        _sampler(mask, OverSampling.from_map(np.full(3, 2)))


def test_refinement_reintegrates_pixels_at_a_profile_centre():
    mask = Mask.circular((20, 20), 0.05, 0.45)
    profile = Sersic(centre=(0.0, 0.0), intensity=1.0, effective_radius=0.3, sersic_index=4.0)
    reference = _pixel_means(profile, _sampler(mask, OverSampling.uniform(32)))
    plain = _pixel_means(profile, _sampler(mask, OverSampling.adaptive(refine_radius=0)))
    dataset = MaskedImaging(Imaging(np.zeros((20, 20)), np.ones((20, 20)), np.ones((1, 1)), 0.05), mask,
                            planner_effort="FFTW_ESTIMATE", wisdom_path=False)
    refined = FitImaging(dataset, Tracer([Galaxy(0.5, bulge=profile)])).model_data
    changed = np.flatnonzero(np.abs(refined - plain) > 1e-12 * plain.max())  # beyond FFT round-off
    assert 0 < changed.size <= 16  # the pixels around the centre, nothing else
    assert np.abs(refined - reference).max() < 0.3 * np.abs(plain - reference).max()  # a steep n = 4 cusp


@pytest.mark.slow
def test_adaptive_default_meets_its_accuracy_on_p1():
    """BENCHMARKS.md P1: the default differs from uniform 16 x 16 by chi-squared < 1 over the mask."""
    k = np.arange(21) - 10
    sigma = 0.1 / (2 * np.sqrt(2 * np.log(2))) / 0.05
    psf = np.exp(-(k[:, None] ** 2 + k[None, :] ** 2) / (2 * sigma**2))
    tracer = p1_like_tracer()
    imaging, _ = simulate_imaging(tracer, (100, 100), 0.05, psf / psf.sum(), exposure_time=1000.0,
                                  background_sky=0.1, seed=1, sub_size=4)
    mask = Mask.circular((100, 100), 0.05, 2.5)
    assert mask.pixels_in_mask == 7860
    settings = dict(planner_effort="FFTW_ESTIMATE", wisdom_path=False)
    reference = FitImaging(MaskedImaging(imaging, mask, over_sampling=16, blurring_sub_size=16, **settings),
                           tracer).model_data
    dataset = MaskedImaging(imaging, mask, **settings)
    default = FitImaging(dataset, tracer).model_data
    chi_squared = np.sum(((default - reference) / dataset.noise_map) ** 2)
    assert chi_squared < 0.5  # measured 0.18; uniform 4 x 4 gives 8.1
    assert dataset.sampler.n_points < 40_000
    uniform4 = FitImaging(MaskedImaging(imaging, mask, over_sampling=4, **settings), tracer).model_data
    assert np.sum(((uniform4 - reference) / dataset.noise_map) ** 2) > 5.0


def test_psf_helper_is_normalised():
    assert gaussian_psf().sum() == pytest.approx(1.0)


def test_refinement_levels_tame_a_steep_compact_source():
    """A compact n = 4 source: levels of refinement (step 4) cut the error against 32 x 32 by > 10."""
    tracer = p1_like_tracer(sersic_index=4.0, effective_radius=0.1)
    imaging, _ = simulate_imaging(tracer, (64, 64), 0.05, gaussian_psf(11, 2.0), exposure_time=1000.0,
                                  background_sky=0.1, seed=1, sub_size=2)
    mask = Mask.circular((64, 64), 0.05, 1.5)
    settings = dict(planner_effort="FFTW_ESTIMATE", wisdom_path=False)
    reference = FitImaging(MaskedImaging(imaging, mask, over_sampling=32, **settings), tracer).model_data

    def chi_squared(over_sampling):
        dataset = MaskedImaging(imaging, mask, over_sampling=over_sampling, **settings)
        return np.sum(((FitImaging(dataset, tracer).model_data - reference) / dataset.noise_map) ** 2)

    one_level = chi_squared(OverSampling.adaptive(refine_levels=1))
    assert chi_squared(None) < 0.1 * one_level
