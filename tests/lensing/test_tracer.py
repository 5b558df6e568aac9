"""Ray tracing: single- and two-plane cases computed by hand, critical curves, magnification."""

import numpy as np
import pytest
from astropy.cosmology import Planck15

from lenspipe.errors import ModelError
from lenspipe.lensing import Galaxy, Tracer
from lenspipe.profiles import (
    ExternalShear,
    Isothermal,
    IsothermalSph,
    PointMass,
    Sersic,
    SersicSph,
)
from lenspipe.profiles.geometry import ell_comps_from

GRID = np.array([[0.3, 0.5], [-0.7, 0.2], [1.1, -0.4], [0.05, -1.3]])


def test_galaxy_sums_its_profiles_and_rejects_non_profiles():
    a, b = Sersic(intensity=1.0), SersicSph(intensity=0.5, effective_radius=0.3)
    galaxy = Galaxy(redshift=0.5, bulge=a, disk=b, mass=IsothermalSph(einstein_radius=1.0))
    np.testing.assert_allclose(galaxy.image_from(GRID), a.image_from(GRID) + b.image_from(GRID), rtol=1e-14)
    assert list(galaxy.light_profiles) == ["bulge", "disk"]
    assert galaxy.mass.einstein_radius == 1.0
    with pytest.raises(ModelError, match="not a light or mass profile"):
        Galaxy(redshift=0.5, bulge=1.0)


def test_single_lens_plane_traces_by_the_lens_equation():
    mass = Isothermal(centre=(0.01, -0.02), ell_comps=(0.1, 0.05), einstein_radius=1.2)
    shear = ExternalShear(gamma_1=0.03, gamma_2=-0.01)
    lens = Galaxy(redshift=0.5, mass=mass, shear=shear)
    source = Galaxy(redshift=1.0, bulge=SersicSph(centre=(0.1, 0.0), intensity=2.0, effective_radius=0.2))
    tracer = Tracer([source, lens])
    traced = tracer.traced_grids_from(GRID)
    expected = GRID - mass.deflections_yx_from(GRID) - shear.deflections_yx_from(GRID)
    np.testing.assert_allclose(traced[1], expected, rtol=0, atol=1e-14)
    np.testing.assert_allclose(tracer.image_from(GRID), source.bulge.image_from(expected), rtol=1e-14)
    assert tracer.plane_redshifts == [0.5, 1.0]


def test_two_lens_planes_against_a_hand_computed_case():
    """Three planes: the second lens sees the grid deflected by the first, scaled by beta_12."""
    z1, z2, zs = 0.3, 0.7, 1.5
    m1 = PointMass(centre=(0.0, 0.0), einstein_radius=0.8)
    m2 = IsothermalSph(centre=(0.2, -0.1), einstein_radius=0.5)
    tracer = Tracer(
        [Galaxy(redshift=z1, mass=m1), Galaxy(redshift=z2, mass=m2), Galaxy(redshift=zs, bulge=SersicSph())],
        cosmology=Planck15,
    )
    d = lambda a, b: Planck15.angular_diameter_distance(a, b).value  # noqa: E731
    beta_12 = d(z1, z2) * d(0, zs) / (d(0, z2) * d(z1, zs))
    a1 = m1.deflections_yx_from(GRID)
    theta_2 = GRID - beta_12 * a1
    a2 = m2.deflections_yx_from(theta_2)
    theta_s = GRID - a1 - a2
    traced = tracer.traced_grids_from(GRID)
    np.testing.assert_allclose(traced[1], theta_2, rtol=0, atol=1e-13)
    np.testing.assert_allclose(traced[2], theta_s, rtol=0, atol=1e-13)
    assert 0.3 < beta_12 < 1.0


def test_batched_tracing_equals_single_tracings():
    k = 3
    radii = np.array([[1.0], [1.2], [1.5]])
    batched = Tracer([
        Galaxy(redshift=0.5, mass=IsothermalSph(einstein_radius=radii)),
        Galaxy(redshift=1.0, bulge=SersicSph(intensity=1.0, effective_radius=0.3)),
    ])
    images = batched.image_from(GRID)
    assert images.shape == (k, len(GRID))
    for i in range(k):
        single = Tracer([
            Galaxy(redshift=0.5, mass=IsothermalSph(einstein_radius=float(radii[i, 0]))),
            Galaxy(redshift=1.0, bulge=SersicSph(intensity=1.0, effective_radius=0.3)),
        ])
        np.testing.assert_allclose(images[i], single.image_from(GRID), rtol=1e-13)


def test_magnification_of_a_point_mass_matches_the_analytic_form():
    """For a point mass, mu = 1 / (1 - (theta_E / r)^4)."""
    tracer = Tracer([Galaxy(redshift=0.5, mass=PointMass(einstein_radius=1.0)), Galaxy(redshift=1.0)])
    r = np.hypot(GRID[:, 0], GRID[:, 1])
    np.testing.assert_allclose(tracer.magnification_from(GRID), 1.0 / (1.0 - r**-4), rtol=1e-6)


def test_effective_einstein_radius_of_an_sis_is_its_einstein_radius():
    tracer = Tracer([Galaxy(redshift=0.5, mass=IsothermalSph(einstein_radius=1.3)), Galaxy(redshift=1.0)])
    assert tracer.einstein_radius_from() == pytest.approx(1.3, rel=2e-4)


def test_effective_einstein_radius_of_an_sie_is_the_intermediate_axis_radius():
    """Inside the SIE's tangential critical curve (kappa = 1/2), the area is pi q xi^2."""
    q, b = 0.7, 1.3
    mass = Isothermal(ell_comps=ell_comps_from(q, np.deg2rad(30.0)), einstein_radius=b)
    tracer = Tracer([Galaxy(redshift=0.5, mass=mass), Galaxy(redshift=1.0)])
    assert tracer.einstein_radius_from() == pytest.approx(2 * np.sqrt(q) / (1 + q) * b, rel=5e-4)


def test_no_mass_means_no_critical_curve():
    tracer = Tracer([Galaxy(redshift=0.5, bulge=Sersic()), Galaxy(redshift=1.0)])
    assert tracer.einstein_radius_from() == 0.0
