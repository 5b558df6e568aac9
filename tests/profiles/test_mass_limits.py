"""Mass profiles against limiting cases, closed forms and independent quadratures."""

import numpy as np
import pytest
from scipy import integrate, special

from lenspipe import profiles
from lenspipe.profiles import geometry
from lenspipe.profiles.power_law import hypergeometric_coefficients

from .helpers import ELL_FLAT, ELL_MILD, ELL_REFERENCE, grid_away_from

GRID = grid_away_from((0.0, 0.0), n=80, r_min=0.05, r_max=4.0, seed=11)


def frame(grid, centre, ell_comps):
    """``q, phi, x', y'`` written out from CONVENTIONS.md, independently of geometry.py."""
    e1, e2 = ell_comps
    f = min(np.hypot(e1, e2), 0.9999)
    q = (1 - f) / (1 + f)
    phi = 0.5 * np.arctan2(e1, e2)
    dy, dx = grid[:, 0] - centre[0], grid[:, 1] - centre[1]
    return q, phi, np.cos(phi) * dx + np.sin(phi) * dy, -np.sin(phi) * dx + np.cos(phi) * dy


@pytest.mark.parametrize("ell_comps", [ELL_MILD, ELL_FLAT])
def test_isothermal_and_power_law_convergence_formulas(ell_comps):
    q, _, x_p, y_p = frame(GRID, (0.1, -0.1), ell_comps)
    xi = np.sqrt(x_p**2 + y_p**2 / q**2)
    iso = profiles.Isothermal(centre=(0.1, -0.1), ell_comps=ell_comps, einstein_radius=1.3)
    np.testing.assert_allclose(iso.convergence_from(GRID), 1.3 / ((1 + q) * xi), rtol=1e-13)
    power = profiles.PowerLaw(centre=(0.1, -0.1), ell_comps=ell_comps, einstein_radius=1.3,
                              slope=2.4)
    expected = (3 - 2.4) / (1 + q) * 1.3 ** (2.4 - 1) * xi ** (1 - 2.4)
    np.testing.assert_allclose(power.convergence_from(GRID), expected, rtol=1e-13)


@pytest.mark.parametrize("ell_comps", [ELL_REFERENCE, ELL_FLAT, geometry.ell_comps_from(0.1, 0.3)])
def test_power_law_with_slope_two_is_isothermal(ell_comps):
    kwargs = dict(centre=(0.1, -0.1), ell_comps=ell_comps, einstein_radius=1.3)
    power, iso = profiles.PowerLaw(slope=2.0, **kwargs), profiles.Isothermal(**kwargs)
    # The series is summed to 1e-14 absolute (on a sum >= 1/2); the rest is rounding.
    np.testing.assert_allclose(power.deflections_yx_from(GRID), iso.deflections_yx_from(GRID),
                               rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(power.potential_from(GRID), iso.potential_from(GRID), rtol=1e-12)
    np.testing.assert_allclose(power.convergence_from(GRID), iso.convergence_from(GRID),
                               rtol=1e-13)


@pytest.mark.parametrize("slope", [1.2, 1.8, 2.5, 2.9])
@pytest.mark.parametrize("axis_ratio", [0.9, 0.5, 0.15])
def test_power_law_deflections_match_scipy_hyp2f1(slope, axis_ratio):
    # Tessore & Metcalf (2015) eq. 13 with b^t = 2 (q R_E)^t / (1 + q), summed by scipy.
    ell_comps = geometry.ell_comps_from(axis_ratio, 0.4)
    q, phi, x_p, y_p = frame(GRID, (0.0, 0.0), ell_comps)
    t = slope - 1
    radius = np.hypot(q * x_p, y_p)
    unit = (q * x_p + 1j * y_p) / radius
    b_t = 2 * (q * 1.2) ** t / (1 + q)
    alpha = (2 / (1 + q) * b_t * radius ** (1 - t) * unit
             * special.hyp2f1(1, t / 2, 2 - t / 2, -(1 - q) / (1 + q) * unit**2))
    alpha_x = np.cos(phi) * alpha.real - np.sin(phi) * alpha.imag
    alpha_y = np.sin(phi) * alpha.real + np.cos(phi) * alpha.imag
    mass = profiles.PowerLaw(ell_comps=ell_comps, einstein_radius=1.2, slope=slope)
    np.testing.assert_allclose(mass.deflections_yx_from(GRID), np.stack([alpha_y, alpha_x], -1),
                               rtol=1e-10, atol=1e-12)


def test_series_terms_adapt_to_ellipticity():
    counts = [len(hypergeometric_coefficients(1.0, f)) for f in (0.0, 0.1, 0.3, 0.6)]
    assert counts[0] <= 2 and counts == sorted(counts) and counts[-1] < 80
    batch = hypergeometric_coefficients(np.array([[1.0], [1.0]]), np.array([[0.1], [0.6]]))
    assert len(batch) == counts[-1]


@pytest.mark.parametrize(
    "spherical, elliptical, kwargs, rtol",
    [
        (profiles.IsothermalSph, profiles.Isothermal, dict(einstein_radius=1.3), 1e-13),
        (profiles.PowerLawSph, profiles.PowerLaw, dict(einstein_radius=1.3, slope=2.3), 1e-13),
        # NFW: 32-node quadrature against closed forms; 1e-10 is the quadrature's accuracy.
        (profiles.NFWSph, profiles.NFW, dict(kappa_s=0.2, scale_radius=1.4), 1e-10),
    ],
)
def test_spherical_forms_equal_round_elliptical_ones(spherical, elliptical, kwargs, rtol):
    sph = spherical(centre=(0.1, -0.2), **kwargs)
    ell = elliptical(centre=(0.1, -0.2), ell_comps=(0.0, 0.0), **kwargs)
    for method in ("convergence_from", "deflections_yx_from", "potential_from"):
        np.testing.assert_allclose(getattr(ell, method)(GRID), getattr(sph, method)(GRID),
                                   rtol=rtol, atol=1e-14, err_msg=method)


def nfw_textbook(x):
    """Wright & Brainerd (2000): g, h and the potential bracket at scalar X, piecewise.

    Each branch uses the well-conditioned form of F(X) for its range.
    """
    if x < 0.5:
        arc_length = np.arccosh(1 / x)
        arc, bracket = arc_length / np.sqrt(1 - x * x), np.log(x / 2) ** 2 - arc_length**2
    elif x < 1:
        arc_length = np.arctanh(np.sqrt(1 - x * x))
        arc, bracket = arc_length / np.sqrt(1 - x * x), np.log(x / 2) ** 2 - arc_length**2
    elif x > 1:
        arc_length = np.arctan(np.sqrt(x * x - 1))
        arc, bracket = arc_length / np.sqrt(x * x - 1), np.log(x / 2) ** 2 + arc_length**2
    else:
        arc, bracket = 1.0, np.log(0.5) ** 2
    g = (1 - arc) / (x * x - 1) if x != 1 else 1 / 3
    return g, np.log(x / 2) + arc, bracket


@pytest.mark.parametrize("x", [0.03, 0.5, 0.9, 0.99995, 1.0, 1.00003, 1.2, 3.0, 40.0])
def test_nfw_sph_matches_the_analytic_formulas(x):
    mass = profiles.NFWSph(kappa_s=0.3, scale_radius=2.0)
    point = np.array([[0.6 * 2.0 * x, 0.8 * 2.0 * x]])
    g, h, bracket = nfw_textbook(x)
    # The reference's (1 - F) / (X^2 - 1) loses ~1e-16 / |1 - F| to cancellation: 1e-12
    # relative in general, 1e-10 within 1e-3 of X = 1 (where lenspipe sums a series).
    rtol = 1e-10 if abs(x - 1) < 1e-3 else 1e-12
    assert mass.convergence_from(point)[0] == pytest.approx(2 * 0.3 * g, rel=rtol)
    alpha = 4 * 0.3 * 2.0 * h / x
    np.testing.assert_allclose(mass.deflections_yx_from(point)[0], [0.6 * alpha, 0.8 * alpha],
                               rtol=1e-12)
    assert mass.potential_from(point)[0] == pytest.approx(2 * 0.3 * 4.0 * bracket, rel=1e-12)


def test_nfw_sph_is_accurate_near_its_centre():
    # At X = 1e-6 the textbook h = ln(X/2) + F cancels to 4e-4 relative error; lenspipe's
    # forms stay exact. References: g = ln(2/X) - 1, h = X^2/4 (2 ln(2/X) - 1) and
    # bracket = X^2/2 ln(2/X), each to O(X^2) ~ 1e-12 relative.
    x = 1e-6
    mass = profiles.NFWSph(kappa_s=0.3, scale_radius=2.0)
    point = np.array([[0.0, 2.0 * x]])
    log_term = np.log(2 / x)
    assert mass.convergence_from(point)[0] == pytest.approx(0.6 * (log_term - 1), rel=1e-10)
    h = x * x / 4 * (2 * log_term - 1)
    assert mass.deflections_yx_from(point)[0, 1] == pytest.approx(4 * 0.3 * 2.0 * h / x, rel=1e-10)
    assert mass.potential_from(point)[0] == pytest.approx(0.6 * 4.0 * x * x / 2 * log_term,
                                                          rel=1e-10)


def test_nfw_sph_deflection_is_the_enclosed_convergence():
    # alpha(r) = (2 / r) int_0^r r' kappa(r') dr', integrated by scipy.
    mass = profiles.NFWSph(kappa_s=0.3, scale_radius=1.5)
    for r in (0.05, 1.5, 4.0):
        enclosed, _ = integrate.quad(
            lambda s: s * mass.convergence_from(np.array([[s, 0.0]]))[0], 0, r,
            epsabs=0, epsrel=1e-12, limit=200)
        assert mass.deflections_yx_from(np.array([[r, 0.0]]))[0, 0] == pytest.approx(
            2 * enclosed / r, rel=1e-9)


def keeton_integrals(x_p, y_p, q, kappa_s, scale_radius):
    """Keeton (2001) deflections and potential of the elliptical NFW, by scipy quad in u."""
    mass = profiles.NFWSph(kappa_s=kappa_s, scale_radius=scale_radius)

    def xi(u):
        return np.sqrt(u * (x_p**2 + y_p**2 / (1 - (1 - q * q) * u)))

    def kappa(u):
        return mass.convergence_from(np.array([[xi(u), 0.0]]))[0]

    def alpha_r(u):
        return mass.deflections_yx_from(np.array([[xi(u), 0.0]]))[0, 0]

    options = dict(epsabs=0, epsrel=1e-13, limit=400)
    j0 = integrate.quad(lambda u: kappa(u) / (1 - (1 - q * q) * u) ** 0.5, 0, 1, **options)[0]
    j1 = integrate.quad(lambda u: kappa(u) / (1 - (1 - q * q) * u) ** 1.5, 0, 1, **options)[0]
    psi = integrate.quad(
        lambda u: xi(u) / u * alpha_r(u) / (1 - (1 - q * q) * u) ** 0.5, 0, 1, **options)[0]
    return q * x_p * j0, q * y_p * j1, 0.5 * q * psi


@pytest.mark.parametrize(
    "axis_ratio, radius",
    [(q, r) for q in (0.85, 0.4, 0.15) for r in (0.05, 1.0, 6.0)] + [(0.1, 36.0), (0.1, 0.02)],
)
def test_nfw_matches_keeton_integrals(axis_ratio, radius):
    angle = 0.6
    ell_comps = geometry.ell_comps_from(axis_ratio, angle)
    mass = profiles.NFW(centre=(0.0, 0.0), ell_comps=ell_comps, kappa_s=0.25, scale_radius=1.2)
    x_p, y_p = radius * np.cos(1.1), radius * np.sin(1.1)  # profile frame
    point = np.array([[x_p * np.sin(angle) + y_p * np.cos(angle),
                       x_p * np.cos(angle) - y_p * np.sin(angle)]])
    alpha_x, alpha_y, psi = keeton_integrals(x_p, y_p, axis_ratio, 0.25, 1.2)
    expected = [np.sin(angle) * alpha_x + np.cos(angle) * alpha_y,
                np.cos(angle) * alpha_x - np.sin(angle) * alpha_y]
    # 32 Gauss-Legendre nodes after w = v^3 / q: ~1e-12 here (1e-10 at q = 0.1, xi = 30 r_s).
    np.testing.assert_allclose(mass.deflections_yx_from(point)[0], expected, rtol=1e-10)
    assert mass.potential_from(point)[0] == pytest.approx(psi, rel=1e-10)


def test_point_mass_and_shear_closed_forms():
    mass = profiles.PointMass(centre=(0.1, -0.1), einstein_radius=0.8)
    dy, dx = GRID[:, 0] - 0.1, GRID[:, 1] + 0.1
    r2 = dy**2 + dx**2
    np.testing.assert_allclose(mass.deflections_yx_from(GRID),
                               0.64 * np.stack([dy, dx], -1) / r2[:, None], rtol=1e-14)
    np.testing.assert_allclose(mass.potential_from(GRID), 0.32 * np.log(r2), rtol=1e-13)
    assert not np.any(mass.convergence_from(GRID))
    shear = profiles.ExternalShear(gamma_1=0.05, gamma_2=-0.02)
    y, x = GRID[:, 0], GRID[:, 1]
    np.testing.assert_allclose(shear.potential_from(GRID),
                               0.5 * (0.05 * (x**2 - y**2) + 2 * -0.02 * x * y),
                               rtol=1e-13, atol=1e-16)
    np.testing.assert_allclose(shear.deflections_yx_from(GRID),
                               np.stack([-0.02 * x - 0.05 * y, 0.05 * x - 0.02 * y], -1),
                               rtol=1e-14, atol=1e-17)
    assert not np.any(shear.convergence_from(GRID))
