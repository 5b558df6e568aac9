"""The multi-Gaussian expansion: its Gaussians, batching, solved form, and how well it follows a Sersic."""

import numpy as np
import pytest

from lenspipe.errors import ProfileError
from lenspipe.fit.linear import solve_amplitudes
from lenspipe.profiles import MGE, Gaussian, GaussianLinear, Sersic
from lenspipe.profiles.mge import TAIL_CUTOFF, Basis

ELL = (0.1, -0.05)


def _grid(pixels=40, scale=0.1, radius=None):
    c = (np.arange(pixels) - pixels / 2 + 0.5) * scale
    y, x = np.meshgrid(-c, c, indexing="ij")
    grid = np.stack([y.ravel(), x.ravel()], axis=-1)
    return grid if radius is None else grid[np.hypot(grid[:, 0], grid[:, 1]) < radius]


def test_sigmas_are_log_spaced_from_min_to_max():
    mge = MGE(total_gaussians=5, sigma_min=0.02, sigma_max=2.0)
    np.testing.assert_allclose(mge.sigmas, [0.02, 0.02 * 10**0.5, 0.2, 0.2 * 10**0.5, 2.0], rtol=1e-14)
    assert MGE(total_gaussians=1, sigma_min=0.3, sigma_max=0.3).sigmas.tolist() == [0.3]
    assert MGE().amplitude_count == 20 and MGE().sigmas[0] == 0.01 and MGE().sigmas[-1] == pytest.approx(3.0)


def test_images_are_the_gaussians_of_conventions():
    mge = MGE(centre=(0.1, -0.2), ell_comps=ELL, total_gaussians=6, sigma_min=0.05, sigma_max=1.5)
    grid = _grid()
    images = mge.images_from(grid)
    assert images.shape == (6, grid.shape[0])
    for image, gaussian in zip(images, mge.gaussians):
        assert isinstance(gaussian, GaussianLinear)
        expected = gaussian.image_from(grid)
        # equal where the Gaussian is above its tail cutoff, 0 (below 4e-18 of the peak) beyond it
        np.testing.assert_allclose(image, expected, rtol=1e-13, atol=np.exp(-TAIL_CUTOFF) * 1.0001)
    assert np.any(images[0] == 0.0) and np.all(images[-1] > 0.0)  # the narrowest is cut, the widest not
    np.testing.assert_allclose(mge.image_from(grid), images.sum(axis=0), rtol=1e-15)
    # CONVENTIONS.md's reference Gaussian: (0.1, 0.05), sigma 0.5, intensity 2 at (0.3, 0.4)
    one = MGE(centre=(0.0, 0.0), ell_comps=(0.1, 0.05), total_gaussians=1, sigma_min=0.5, sigma_max=0.5)
    assert 2.0 * one.images_from(np.array([[0.3, 0.4]]))[0, 0] == pytest.approx(1.4514807819, rel=1e-9)


def test_batched_parameters_give_each_models_images():
    grid = _grid(20, 0.2)
    centres = np.array([[0.0], [0.1], [-0.3]])
    e1 = np.array([[0.0], [0.2], [-0.1]])
    batch = MGE(centre=(centres, 0.05), ell_comps=(e1, 0.1), total_gaussians=8, sigma_min=0.01, sigma_max=2.0)
    images = batch.images_from(grid)
    assert images.shape == (3, 8, grid.shape[0])
    for k in range(3):
        single = MGE(centre=(float(centres[k, 0]), 0.05), ell_comps=(float(e1[k, 0]), 0.1), total_gaussians=8,
                     sigma_min=0.01, sigma_max=2.0)
        np.testing.assert_array_equal(images[k], single.images_from(grid))
    # a batched traced grid (K, N, 2) with (K, 1) parameters
    traced = np.stack([grid, grid * 1.1, grid - 0.05])
    np.testing.assert_array_equal(batch.images_from(traced)[2],
                                  MGE(centre=(-0.3, 0.05), ell_comps=(-0.1, 0.1), total_gaussians=8, sigma_min=0.01,
                                      sigma_max=2.0).images_from(traced[2]))


def test_with_intensities_is_the_basis_of_standard_gaussians():
    mge = MGE(centre=(0.0, 0.1), ell_comps=ELL, total_gaussians=4, sigma_min=0.1, sigma_max=1.0)
    grid = _grid(16, 0.2)
    intensities = np.array([0.0, 2.0, 0.5, 1.0])
    basis = mge.with_intensities(intensities)
    assert isinstance(basis, Basis) and all(isinstance(p, Gaussian) for p in basis.profiles)
    np.testing.assert_array_equal(basis.intensities, intensities)
    np.testing.assert_allclose(basis.image_from(grid), intensities @ mge.images_from(grid), rtol=1e-13, atol=1e-300)
    expected_flux = sum(2 * np.pi * s**2 * a / mge.axis_ratio for s, a in zip(mge.sigmas, intensities))
    assert basis.total_flux == pytest.approx(expected_flux, rel=1e-12)
    batched = mge.with_intensities(np.stack([intensities, 2 * intensities]))
    assert batched.profiles[1].intensity.shape == (2, 1)
    np.testing.assert_array_equal(batched.intensities, np.stack([intensities, 2 * intensities]))


@pytest.mark.parametrize("changes, name", [(dict(total_gaussians=0), "total_gaussians"),
                                           (dict(total_gaussians=2.5), "total_gaussians"),
                                           (dict(sigma_min=0.0), "sigma_min"),
                                           (dict(sigma_min=1.0, sigma_max=0.5), "sigma_max")])
def test_invalid_settings_raise_a_profile_error(changes, name):
    with pytest.raises(ProfileError, match=name):
        MGE(**changes)


@pytest.mark.parametrize("sersic_index", [1.0, 2.0, 3.0, 4.0])
@pytest.mark.parametrize("effective_radius", [0.2, 0.8])
def test_twenty_gaussians_reproduce_a_sersic_at_p1_noise(sersic_index, effective_radius):
    """The tolerance: the MGE must be indistinguishable from the Sersic in P1's data.

    P1 (BENCHMARKS.md): 0.05 arcsec pixels in a 2.5 arcsec mask, intensity 2.0 e-/s, 1000 s,
    sky 0.1 e-/s, so sigma_i = sqrt((I_i + 0.1) 1000) / 1000. The over-sampling standard of
    P1-adaptive is a chi-squared below 1 over the mask against the exact image; the MGE's
    approximation error is held to the same standard with a factor 1000 of margin
    (measured: at most 3e-5 for n = 1..4 and R_e = 0.2, 0.8 arcsec), and to a relative L2
    error below 2e-5 (measured <= 2e-6). With 10 Gaussians (width steps of 1.9) the same
    test fails (chi-squared 5 to 250), so it can.
    """
    grid = _grid(100, 0.05, radius=2.5)
    sersic = Sersic(centre=(0.0, 0.0), ell_comps=(0.05, -0.03), intensity=2.0, effective_radius=effective_radius,
                    sersic_index=sersic_index)
    image = sersic.image_from(grid)
    noise = np.sqrt((image + 0.1) * 1000.0) / 1000.0

    def residual(total_gaussians):
        mge = MGE(centre=(0.0, 0.0), ell_comps=(0.05, -0.03), total_gaussians=total_gaussians)
        amplitudes, model = solve_amplitudes(np.zeros(image.size), mge.images_from(grid), image, noise**-2)
        assert np.all(amplitudes >= 0)
        return image - model

    twenty = residual(20)
    assert np.sum((twenty / noise) ** 2) < 1e-3
    assert np.linalg.norm(twenty) / np.linalg.norm(image) < 2e-5
    assert np.sum((residual(10) / noise) ** 2) > 1.0
