"""Light profiles: the CONVENTIONS.md formulas, special cases, total flux by integration."""

import numpy as np
import pytest
from scipy import integrate, special

from lenspipe import profiles
from lenspipe.profiles import geometry
from lenspipe.profiles.light import sersic_constant

from .helpers import ELL_FLAT, ELL_MILD, grid_away_from


def profile_frame(grid, centre, ell_comps):
    """``(q, x', y')`` written out from CONVENTIONS.md, independently of lenspipe.profiles.geometry."""
    e1, e2 = ell_comps
    f = min(np.hypot(e1, e2), 0.9999)
    q = (1 - f) / (1 + f)
    phi = 0.5 * np.arctan2(e1, e2)
    dy, dx = grid[:, 0] - centre[0], grid[:, 1] - centre[1]
    x_p = np.cos(phi) * dx + np.sin(phi) * dy
    y_p = -np.sin(phi) * dx + np.cos(phi) * dy
    return q, x_p, y_p


def elliptical_radius(grid, centre, ell_comps):
    """The Sersic's ``R = sqrt(q x'^2 + y'^2 / q)`` (CONVENTIONS.md)."""
    q, x_p, y_p = profile_frame(grid, centre, ell_comps)
    return np.sqrt(q * x_p**2 + y_p**2 / q)


GRID = grid_away_from((0.0, 0.0), n=50, r_min=0.01, r_max=4.0)


@pytest.mark.parametrize("n", [0.5, 1.0, 2.7, 4.0, 8.0])
def test_sersic_matches_the_formula(n):
    light = profiles.Sersic(centre=(0.2, -0.1), ell_comps=ELL_FLAT, intensity=1.7,
                            effective_radius=0.9, sersic_index=n)
    b_n = (2 * n - 1 / 3 + 4 / (405 * n) + 46 / (25515 * n**2) + 131 / (1148175 * n**3)
           - 2194697 / (30690717750 * n**4))
    radius = elliptical_radius(GRID, (0.2, -0.1), ELL_FLAT)
    expected = 1.7 * np.exp(-b_n * ((radius / 0.9) ** (1 / n) - 1))
    # Differences come from rounding in a few transcendental calls: 1e-13 is ~100 ulp
    # of headroom while any change to the formula moves values by far more.
    np.testing.assert_allclose(light.image_from(GRID), expected, rtol=1e-13)


@pytest.mark.parametrize("cls", [profiles.Gaussian, profiles.GaussianLinear])
def test_gaussian_matches_the_formula(cls):
    # CONVENTIONS.md: I = intensity exp(-(q^2 x'^2 + y'^2) / (2 sigma^2)), not the Sersic's R
    q, x_p, y_p = profile_frame(GRID, (0.2, -0.1), ELL_FLAT)
    expected = np.exp(-(q**2 * x_p**2 + y_p**2) / (2 * 0.6**2))
    if cls is profiles.Gaussian:
        light, expected = cls(centre=(0.2, -0.1), ell_comps=ELL_FLAT, intensity=1.7, sigma=0.6), 1.7 * expected
    else:
        light = cls(centre=(0.2, -0.1), ell_comps=ELL_FLAT, sigma=0.6)  # unit intensity
    # exponents up to 18 here: rounding in the rotation and one exp is ~1e-15 relative (measured
    # 3.6e-15); 1e-13 leaves headroom while the Sersic's R instead moves values by tens of percent
    np.testing.assert_allclose(light.image_from(GRID), expected, rtol=1e-13)


@pytest.mark.parametrize("n", [1.0, 2.0, 4.0, 8.0])
def test_sersic_constant_encloses_half_the_light(n):
    # Ciotti & Bertin's expansion makes P(2n, b_n) = 1/2 to better than 2e-5 for n >= 1;
    # a wrong coefficient in b_n (e.g. 4/450 for 4/405) moves it by ~3e-4.
    assert abs(special.gammainc(2 * n, sersic_constant(n)) - 0.5) < 2e-5


@pytest.mark.parametrize(
    "special_case, sersic_index",
    [
        (profiles.Exponential, 1.0),
        (profiles.DevVaucouleurs, 4.0),
    ],
)
def test_exponential_and_de_vaucouleurs_are_sersics(special_case, sersic_index):
    kwargs = dict(centre=(0.1, 0.3), ell_comps=ELL_MILD, intensity=0.6, effective_radius=1.3)
    np.testing.assert_array_equal(
        special_case(**kwargs).image_from(GRID),
        profiles.Sersic(sersic_index=sersic_index, **kwargs).image_from(GRID),
    )
    assert "sersic_index" not in special_case.parameter_names()


@pytest.mark.parametrize(
    "spherical, elliptical, kwargs",
    [
        (profiles.SersicSph, profiles.Sersic,
         dict(intensity=0.6, effective_radius=1.3, sersic_index=2.2)),
        (profiles.ExponentialSph, profiles.Exponential, dict(intensity=0.6, effective_radius=1.3)),
        (profiles.DevVaucouleursSph, profiles.DevVaucouleurs,
         dict(intensity=0.6, effective_radius=1.3)),
        (profiles.GaussianSph, profiles.Gaussian, dict(intensity=0.6, sigma=0.8)),
    ],
)
def test_spherical_forms_equal_round_elliptical_ones(spherical, elliptical, kwargs):
    sph = spherical(centre=(0.1, 0.3), **kwargs)
    ell = elliptical(centre=(0.1, 0.3), ell_comps=(0.0, 0.0), **kwargs)
    np.testing.assert_allclose(sph.image_from(GRID), ell.image_from(GRID), rtol=1e-14)
    assert "ell_comps" not in spherical.parameter_names()


def numerical_flux(light, centre):
    """Integral of ``image_from`` over the plane in polar coordinates about ``centre``.

    The angular integral is the trapezoid rule on 512 angles (spectrally accurate for a
    smooth periodic integrand); the radial one is scipy's adaptive quad to infinity.
    """
    angles = np.linspace(0.0, 2.0 * np.pi, 512, endpoint=False)
    ring = np.stack([np.sin(angles), np.cos(angles)], axis=-1)

    def ring_integral(radius):
        return 2.0 * np.pi * radius * light.image_from(np.asarray(centre) + radius * ring).mean()

    value, _ = integrate.quad(ring_integral, 0.0, np.inf, epsabs=0.0, epsrel=1e-11, limit=400)
    return value


@pytest.mark.parametrize("n", [0.6, 1.0, 2.5, 4.0])
@pytest.mark.parametrize("ell_comps", [(0.0, 0.0), ELL_FLAT])
def test_sersic_total_flux_matches_numerical_integration(n, ell_comps):
    light = profiles.Sersic(centre=(0.3, -0.2), ell_comps=ell_comps, intensity=1.3,
                            effective_radius=0.7, sersic_index=n)
    # The adaptive radial quad converges to ~1e-10 here; 1e-8 leaves room and still
    # rejects any q factor (ELL_FLAT has q = 0.35).
    assert light.total_flux == pytest.approx(numerical_flux(light, (0.3, -0.2)), rel=1e-8)


@pytest.mark.parametrize("ell_comps", [(0.0, 0.0), ELL_FLAT])
def test_gaussian_total_flux_matches_numerical_integration(ell_comps):
    light = profiles.Gaussian(centre=(0.3, -0.2), ell_comps=ell_comps, intensity=1.3, sigma=0.45)
    assert light.total_flux == pytest.approx(numerical_flux(light, (0.3, -0.2)), rel=1e-8)


@pytest.mark.parametrize("ell_comps", [(0.0, 0.0), (0.1, 0.05), ELL_FLAT])
def test_gaussian_total_flux_is_a_fine_grid_sum(ell_comps):
    """2 pi sigma^2 intensity / q against the midpoint sum of image_from over a fine square grid.

    For a Gaussian, the sum over a grid of spacing h times h^2 differs from the integral by
    the Fourier transform at the reciprocal lattice (Poisson summation): at most
    exp(-2 pi^2 sigma_min^2 / h^2) relative, with sigma_min = sigma the narrowest width;
    h = sigma / 4 makes that exp(-316). The grid reaches 12 sigma / q from the centre along
    both axes, so the light left outside is below exp(-72). The sum agrees to round-off.
    """
    sigma, intensity, centre = 0.45, 1.3, (0.3, -0.2)
    light = profiles.Gaussian(centre=centre, ell_comps=ell_comps, intensity=intensity, sigma=sigma)
    q = light.axis_ratio
    h = sigma / 4
    k = np.arange(-np.ceil(12 / q * 4), np.ceil(12 / q * 4) + 1)
    y, x = np.meshgrid(centre[0] + k * h, centre[1] + k * h, indexing="ij")
    grid_sum = light.image_from(np.stack([y.ravel(), x.ravel()], axis=-1)).sum() * h**2
    assert light.total_flux == pytest.approx(grid_sum, rel=1e-12)
    assert light.total_flux == pytest.approx(2 * np.pi * sigma**2 * intensity / q, rel=1e-14)
    linear = profiles.GaussianLinear(centre=centre, ell_comps=ell_comps, sigma=sigma)
    assert linear.total_flux * intensity == pytest.approx(grid_sum, rel=1e-12)


def test_total_flux_of_special_cases_and_batches():
    assert profiles.ExponentialSph(intensity=2.0, effective_radius=0.5).total_flux == (
        pytest.approx(profiles.SersicSph(intensity=2.0, effective_radius=0.5,
                                         sersic_index=1.0).total_flux, rel=1e-15)
    )
    intensity = np.array([[1.0], [2.0]])
    batched = profiles.Sersic(intensity=intensity, sersic_index=np.array([[1.0], [3.0]]))
    singles = [profiles.Sersic(intensity=1.0, sersic_index=1.0).total_flux,
               profiles.Sersic(intensity=2.0, sersic_index=3.0).total_flux]
    np.testing.assert_allclose(batched.total_flux[:, 0], singles, rtol=1e-14)


def test_image_at_the_centre_is_the_central_value():
    light = profiles.Sersic(centre=(0.1, 0.1), intensity=2.0, effective_radius=0.5,
                            sersic_index=4.0)
    centre_value = light.image_from(np.array([[0.1, 0.1]]))[0]
    assert centre_value == pytest.approx(2.0 * np.exp(sersic_constant(4.0)), rel=1e-14)


def test_grids_of_any_layout_are_accepted():
    light = profiles.Sersic(ell_comps=ELL_MILD)
    grid = np.asfortranarray(GRID)  # the (y, x) pairs are not contiguous
    np.testing.assert_array_equal(light.image_from(grid), light.image_from(GRID))
    np.testing.assert_array_equal(light.image_from(GRID.tolist()), light.image_from(GRID))
    assert geometry.complex_grid_from(grid).shape == (len(GRID),)
