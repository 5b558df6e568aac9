"""Over-sampling: uniform converges to the exact pixel integral; the adaptive default meets its accuracy."""

import numpy as np
import pytest
from fit_helpers import gaussian_psf, p1_like_tracer
from scipy.special import ndtr

from lenspipe.data import Imaging, Mask, OverSampler, simulate_imaging
from lenspipe.fit.fit_imaging import FitImaging, MaskedImaging
from lenspipe.fit.oversampling import OverSampling, PixelSampler, pixel_rule
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


def test_uniform_points_are_the_data_over_samplers_sub_pixels():
    mask = Mask.circular((12, 12), 0.1, 0.45)
    sampler = _sampler(mask, OverSampling.uniform(3))
    np.testing.assert_allclose(sampler.grid, OverSampler(mask, 3).sub_grid, atol=1e-15)


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
